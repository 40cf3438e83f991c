//! Every git2 call of the sandbox: creating bare repositories, writing commits of given files,
//! resolving refs, git notes, and in-memory merges with an atomic base-ref update. It knows nothing
//! about HTTP, pull requests or users; no git2 type leaves the sandbox.

use std::path::Path;

use anyhow::{Context, Result, bail};
use git2::{Oid, Repository, RepositoryInitOptions, Signature, Time};

/// The notes ref the hydrator writes no-op hydrations to (docs/design.md §1).
pub const HYDRATOR_NOTES_REF: &str = "refs/notes/hydrator.metadata";

/// Who and when, for a commit written by the sandbox.
#[derive(Debug, Clone)]
pub(crate) struct Person {
    pub name: String,
    pub email: String,
    /// Seconds since the Unix epoch, UTC.
    pub time: i64,
}

impl Person {
    fn signature(&self) -> Result<Signature<'static>> {
        Signature::new(&self.name, &self.email, &Time::new(self.time, 0))
            .with_context(|| format!("building a git signature for {}", self.name))
    }
}

/// Creates (or opens, when it exists) the bare repository at `path` with `main` as HEAD.
pub(crate) fn init_bare(path: &Path) -> Result<Repository> {
    if path.join("HEAD").exists() {
        return open(path);
    }
    let mut options = RepositoryInitOptions::new();
    options.bare(true).initial_head("main").mkdir(true);
    let repo = Repository::init_opts(path, &options)
        .with_context(|| format!("creating the bare repository {}", path.display()))?;
    // Pushes over smart HTTP go through `git http-backend`, which reads this (git-http-backend(1)).
    repo.config()
        .and_then(|mut config| config.set_bool("http.receivepack", true))
        .with_context(|| format!("enabling pushes in {}", path.display()))?;
    Ok(repo)
}

pub(crate) fn open(path: &Path) -> Result<Repository> {
    Repository::open_bare(path)
        .with_context(|| format!("opening the bare repository {}", path.display()))
}

/// The tip of `refs/heads/<branch>`, if the branch exists.
pub(crate) fn branch_tip(repo: &Repository, branch: &str) -> Result<Option<Oid>> {
    match repo.find_reference(&format!("refs/heads/{branch}")) {
        Ok(reference) => {
            let commit = reference
                .peel_to_commit()
                .with_context(|| format!("reading the tip of branch {branch}"))?;
            Ok(Some(commit.id()))
        }
        Err(error) if error.code() == git2::ErrorCode::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("reading branch {branch}")),
    }
}

/// Resolves what GitHub accepts as `{ref}`: a full or abbreviated commit SHA, a branch name, a tag
/// name or a full ref name. `None` when nothing matches.
pub(crate) fn resolve_commit(repo: &Repository, rev: &str) -> Option<Oid> {
    let candidates = [
        format!("refs/heads/{rev}"),
        format!("refs/tags/{rev}"),
        rev.to_owned(),
    ];
    if rev.len() >= 4
        && rev.bytes().all(|b| b.is_ascii_hexdigit())
        && let Ok(object) = repo.revparse_single(rev)
        && let Ok(commit) = object.peel_to_commit()
    {
        return Some(commit.id());
    }
    candidates.iter().find_map(|name| {
        repo.find_reference(name)
            .ok()
            .and_then(|reference| reference.peel_to_commit().ok())
            .map(|commit| commit.id())
    })
}

/// Commits `files` (path → content, nested paths allowed) on top of `branch`'s tip (a root commit
/// when the branch does not exist) and moves the branch to it. Returns the new commit.
pub(crate) fn commit_files(
    repo: &Repository,
    branch: &str,
    files: &[(String, String)],
    message: &str,
    who: &Person,
) -> Result<Oid> {
    let parent = branch_tip(repo, branch)?;
    let oid = write_commit(repo, parent, files, message, who)?;
    move_branch(repo, branch, parent, oid, message)?;
    Ok(oid)
}

/// Writes a commit whose tree is `parent`'s tree with `files` upserted; no ref moves.
pub(crate) fn write_commit(
    repo: &Repository,
    parent: Option<Oid>,
    files: &[(String, String)],
    message: &str,
    who: &Person,
) -> Result<Oid> {
    let baseline = match parent {
        Some(oid) => repo.find_commit(oid)?.tree()?,
        None => {
            let empty = repo.treebuilder(None)?.write()?;
            repo.find_tree(empty)?
        }
    };
    let mut update = git2::build::TreeUpdateBuilder::new();
    for (path, content) in files {
        let blob = repo
            .blob(content.as_bytes())
            .with_context(|| format!("writing the blob for {path}"))?;
        update.upsert(path.as_str(), blob, git2::FileMode::Blob);
    }
    let tree_id = update
        .create_updated(repo, &baseline)
        .context("writing the commit tree")?;
    let tree = repo.find_tree(tree_id)?;
    let signature = who.signature()?;
    let parents = match parent {
        Some(oid) => vec![repo.find_commit(oid)?],
        None => Vec::new(),
    };
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(None, &signature, &signature, message, &tree, &parent_refs)
        .context("writing the commit")
}

/// Moves `refs/heads/<branch>` from `expected` (None = must not exist) to `new`, atomically.
/// Fails with [`RefMoved`] when the branch is no longer at `expected`.
pub(crate) fn move_branch(
    repo: &Repository,
    branch: &str,
    expected: Option<Oid>,
    new: Oid,
    why: &str,
) -> Result<()> {
    let name = format!("refs/heads/{branch}");
    let first_line = why.lines().next().unwrap_or_default();
    let result = match expected {
        Some(old) => repo.reference_matching(&name, new, true, old, first_line),
        None => repo.reference(&name, new, false, first_line),
    };
    match result {
        Ok(_) => Ok(()),
        Err(error)
            if matches!(
                error.code(),
                git2::ErrorCode::Modified | git2::ErrorCode::Exists
            ) =>
        {
            Err(anyhow::Error::new(RefMoved(branch.to_owned())))
        }
        Err(error) => Err(error).with_context(|| format!("moving branch {branch}")),
    }
}

/// A branch was not where the caller expected it (a concurrent push or merge won).
#[derive(Debug, thiserror::Error)]
#[error("branch {0} moved while it was being updated")]
pub(crate) struct RefMoved(pub String);

/// Whether `head` has no commits that `base` lacks (GitHub's "No commits between").
pub(crate) fn contains(repo: &Repository, base: Oid, head: Oid) -> Result<bool> {
    Ok(base == head || repo.graph_descendant_of(base, head)?)
}

/// The tree of merging `theirs` into `ours`, computed in memory; `None` on a conflict.
pub(crate) fn merge_tree(repo: &Repository, ours: Oid, theirs: Oid) -> Result<Option<Oid>> {
    let ours_commit = repo.find_commit(ours)?;
    let theirs_commit = repo.find_commit(theirs)?;
    let mut index = repo
        .merge_commits(&ours_commit, &theirs_commit, None)
        .context("merging in memory")?;
    if index.has_conflicts() {
        return Ok(None);
    }
    Ok(Some(
        index
            .write_tree_to(repo)
            .context("writing the merged tree")?,
    ))
}

/// Writes a commit with the given tree and parents; no ref moves.
pub(crate) fn commit_tree(
    repo: &Repository,
    tree: Oid,
    parents: &[Oid],
    message: &str,
    author: &Person,
    committer: &Person,
) -> Result<Oid> {
    let tree = repo.find_tree(tree)?;
    let parents = parents
        .iter()
        .map(|oid| repo.find_commit(*oid))
        .collect::<Result<Vec<_>, _>>()?;
    let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(
        None,
        &author.signature()?,
        &committer.signature()?,
        message,
        &tree,
        &parent_refs,
    )
    .context("writing the merge commit")
}

/// Adds (or replaces) the note on `target` under [`HYDRATOR_NOTES_REF`].
pub(crate) fn write_note(repo: &Repository, target: Oid, body: &str, who: &Person) -> Result<()> {
    let signature = who.signature()?;
    repo.note(
        &signature,
        &signature,
        Some(HYDRATOR_NOTES_REF),
        target,
        body,
        true,
    )
    .with_context(|| format!("writing the hydrator note on {target}"))?;
    Ok(())
}

pub(crate) fn read_note(repo: &Repository, target: Oid) -> Option<String> {
    repo.find_note(Some(HYDRATOR_NOTES_REF), target)
        .ok()
        .and_then(|note| note.message().ok().map(str::to_owned))
}

/// The content of `path` in commit `commit`, if it is a UTF-8 file there.
pub(crate) fn read_file(repo: &Repository, commit: Oid, path: &str) -> Result<Option<String>> {
    let tree = repo.find_commit(commit)?.tree()?;
    let Ok(entry) = tree.get_path(Path::new(path)) else {
        return Ok(None);
    };
    let blob = entry.to_object(repo)?.peel_to_blob()?;
    Ok(std::str::from_utf8(blob.content()).ok().map(str::to_owned))
}

pub(crate) fn parents(repo: &Repository, commit: Oid) -> Result<Vec<Oid>> {
    Ok(repo.find_commit(commit)?.parent_ids().collect())
}

/// Fetches every branch and the notes of `source` into `target` (used to create forks).
pub(crate) fn copy_refs(target: &Repository, source: &Path) -> Result<()> {
    let Some(url) = source.to_str() else {
        bail!("the repository path {} is not UTF-8", source.display());
    };
    let mut remote = target.remote_anonymous(url)?;
    remote
        .fetch(
            &["+refs/heads/*:refs/heads/*", "+refs/notes/*:refs/notes/*"],
            None,
            None,
        )
        .with_context(|| format!("copying the branches of {}", source.display()))?;
    Ok(())
}

/// The commit's message and committer time, for rendering.
pub(crate) fn commit_info(repo: &Repository, commit: Oid) -> Result<(String, Person, Person)> {
    let commit = repo.find_commit(commit)?;
    let person = |signature: git2::Signature<'_>| Person {
        name: signature.name().unwrap_or_default().to_owned(),
        email: signature.email().unwrap_or_default().to_owned(),
        time: signature.when().seconds(),
    };
    Ok((
        commit.message().unwrap_or_default().to_owned(),
        person(commit.author()),
        person(commit.committer()),
    ))
}
