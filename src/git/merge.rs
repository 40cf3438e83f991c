//! In-memory merges: would merging a staging tip into a live tip conflict, and the "ours" merge
//! commit that resolves it in favour of the hydrator (docs/design.md §3). Creates objects in the cache
//! only; pushing is `GitCache::push_branch`.

use std::path::Path;

use anyhow::{Context, Result, bail};
use git2::{ErrorCode, Oid, Repository, Signature, Time, Tree};
use time::OffsetDateTime;

use super::{GitCache, oid, sha};
use crate::model::{BranchName, Sha};

/// The name and e-mail upstream GitOps Promoter commits with; kept so history reads the same.
const NAME: &str = "GitOps Promoter";
const EMAIL: &str = "GitOpsPromoter@argoproj.io";

/// What an ours merge joins.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OursMerge<'a> {
    pub live: &'a BranchName,
    pub live_tip: &'a Sha,
    pub staging: &'a BranchName,
    pub staging_tip: &'a Sha,
    /// Monorepo mode: staging wins only inside this directory, live's tree is kept elsewhere.
    pub active_path: Option<&'a str>,
}

impl GitCache {
    /// Whether merging `staging` into `live` would conflict, decided in memory on the whole
    /// tree (as upstream's `git merge-tree` does, also in activePath mode). Histories with no
    /// common ancestor count as a conflict (see the module doc).
    pub(crate) fn would_conflict(&self, live: &Sha, staging: &Sha) -> Result<bool> {
        let (live_oid, staging_oid) = (oid(live)?, oid(staging)?);
        let doing = || {
            format!(
                "checking whether {} merges cleanly into {}",
                staging.short(),
                live.short()
            )
        };
        match self.repo.merge_base(live_oid, staging_oid) {
            // One tip contains the other (staging already merged into live, the settled case, or
            // live behind staging): the merge takes one side's tree whole, so it cannot conflict
            // and the tree walk below is skipped. libgit2's merge gives the same answer: with the
            // base equal to one side every path is changed on at most one side.
            Ok(base) if base == staging_oid || base == live_oid => return Ok(false),
            Ok(_) => {}
            Err(e) if e.code() == ErrorCode::NotFound => return Ok(true),
            Err(e) => return Err(e).with_context(doing),
        }
        let ours = self.repo.find_commit(live_oid).with_context(doing)?;
        let theirs = self.repo.find_commit(staging_oid).with_context(doing)?;
        let index = self
            .repo
            .merge_commits(&ours, &theirs, None)
            .with_context(doing)?;
        Ok(index.has_conflicts())
    }

    /// Creates the commit that resolves a conflict in favour of the staging branch: parents
    /// staging tip then live tip; tree = staging's (or, with an active path, live's tree with
    /// that directory replaced by staging's). `when` is the author and committer time.
    pub(crate) fn ours_merge(&self, merge: &OursMerge<'_>, when: OffsetDateTime) -> Result<Sha> {
        let doing = || {
            format!(
                "creating the merge of {} into {}",
                merge.live, merge.staging
            )
        };
        let staging = self
            .repo
            .find_commit(oid(merge.staging_tip)?)
            .with_context(doing)?;
        let live = self
            .repo
            .find_commit(oid(merge.live_tip)?)
            .with_context(doing)?;
        let active_path = merge
            .active_path
            .map(|path| path.trim_matches('/'))
            .filter(|path| !path.is_empty());
        let (tree, message) = match active_path {
            None => (
                staging.tree_id(),
                format!("Merge {} into {} (ours)", merge.live, merge.staging),
            ),
            Some(path) => {
                let components: Vec<&str> = path.split('/').collect();
                if components
                    .iter()
                    .any(|c| c.is_empty() || *c == "." || *c == "..")
                {
                    bail!("activePath `{path}` is not a plain relative directory");
                }
                let replacement = entry_at(&staging.tree()?, path)?;
                let tree = replace_path(
                    &self.repo,
                    Some(live.tree().with_context(doing)?),
                    &components,
                    replacement,
                )
                .with_context(doing)?;
                let tree = match tree {
                    Some(tree) => tree,
                    None => self.repo.treebuilder(None)?.write()?,
                };
                (tree, format!("Resolve conflicts for {path}"))
            }
        };
        let tree = self.repo.find_tree(tree).with_context(doing)?;
        let offset_minutes = i32::from(when.offset().whole_minutes());
        let signature = Signature::new(
            NAME,
            EMAIL,
            &Time::new(when.unix_timestamp(), offset_minutes),
        )?;
        let commit = self
            .repo
            .commit(
                None,
                &signature,
                &signature,
                &message,
                &tree,
                &[&staging, &live],
            )
            .with_context(doing)?;
        Ok(sha(commit))
    }
}

/// The object id and file mode at `path` in `tree`, or `None` when staging deleted it.
fn entry_at(tree: &Tree<'_>, path: &str) -> Result<Option<(Oid, i32)>> {
    match tree.get_path(Path::new(path)) {
        Ok(entry) => Ok(Some((entry.id(), entry.filemode()))),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Writes `base` with the entry at `components` replaced by `replacement` (removed when
/// `None`), creating directories on the way. Returns `None` for a tree left empty, so emptied
/// directories disappear as they would in git.
pub(super) fn replace_path(
    repo: &Repository,
    base: Option<Tree<'_>>,
    components: &[&str],
    replacement: Option<(Oid, i32)>,
) -> Result<Option<Oid>> {
    let (first, rest) = components
        .split_first()
        .expect("an active path has at least one component");
    let mut builder = repo.treebuilder(base.as_ref())?;
    let new_entry = if rest.is_empty() {
        replacement
    } else {
        let child = match builder.get(first)? {
            Some(entry) if entry.kind() == Some(git2::ObjectType::Tree) => {
                Some(repo.find_tree(entry.id())?)
            }
            _ => None,
        };
        replace_path(repo, child, rest, replacement)?.map(|id| (id, 0o040000))
    };
    match new_entry {
        Some((id, mode)) => {
            builder.insert(first, id, mode)?;
        }
        None => {
            if builder.get(first)?.is_some() {
                builder.remove(first)?;
            }
        }
    }
    if builder.is_empty() {
        return Ok(None);
    }
    Ok(Some(builder.write()?))
}
