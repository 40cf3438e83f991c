//! Tests of the git layer on real repositories: a bare `origin` in a temporary directory, built
//! commit by commit with git2, fixed signatures and timestamps so SHAs are stable.

mod bench;
mod http;
mod merges;
mod reads;
mod sync;

use std::cell::Cell;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};
use tempfile::TempDir;

use super::{GitCache, sha};
use crate::model::{BranchName, Sha};

pub(super) const DRY_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
pub(super) const DRY_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// A bare repository standing in for the SCM's, plus a separate cache root.
pub(super) struct Origin {
    dir: TempDir,
    pub path: PathBuf,
    pub repo: Repository,
    pub cache_root: PathBuf,
    clock: Cell<i64>,
}

impl Origin {
    pub(super) fn new() -> Self {
        Self::at("origin.git")
    }

    /// The bare repository at `relative` inside a fresh temporary directory (e.g. where a
    /// sandbox forge rooted in that directory serves it from).
    pub(super) fn at(relative: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(relative);
        let repo = Repository::init_bare(&path).unwrap();
        let cache_root = dir.path().join("cache");
        Self {
            dir,
            path,
            repo,
            cache_root,
            clock: Cell::new(1_700_000_000),
        }
    }

    /// The temporary directory holding the repository and the cache root.
    pub(super) fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub(super) fn url(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    pub(super) fn open_cache(&self) -> GitCache {
        let (cache, warnings) = GitCache::open(&self.cache_root, &self.url(), None).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        cache
    }

    fn signature(&self) -> Signature<'static> {
        let now = self.clock.get() + 60;
        self.clock.set(now);
        Signature::new("Hydrator", "hydrator@example.com", &Time::new(now, 0)).unwrap()
    }

    /// A commit on `branch` (created if absent) whose tree is the parent's with `changes`
    /// applied: `(path, Some(content))` writes a file, `(path, None)` deletes it.
    pub(super) fn commit(
        &self,
        branch: &str,
        changes: &[(&str, Option<&str>)],
        message: &str,
    ) -> Oid {
        let parent = self
            .repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .ok();
        let parents: Vec<Oid> = parent.into_iter().collect();
        self.commit_with(Some(branch), &parents, changes, message)
    }

    /// A commit with explicit parents (none = a root commit); the tree starts from the first
    /// parent's. Moves `branch` (forcibly) when given.
    pub(super) fn commit_with(
        &self,
        branch: Option<&str>,
        parents: &[Oid],
        changes: &[(&str, Option<&str>)],
        message: &str,
    ) -> Oid {
        let base = parents
            .first()
            .map(|p| self.repo.find_commit(*p).unwrap().tree().unwrap());
        let mut tree = base.map(|t| t.id());
        for (path, content) in changes {
            let components: Vec<&str> = path.split('/').collect();
            let blob = content.map(|c| (self.repo.blob(c.as_bytes()).unwrap(), 0o100644));
            let base = tree.map(|id| self.repo.find_tree(id).unwrap());
            tree = super::merge::replace_path(&self.repo, base, &components, blob).unwrap();
        }
        let tree = match tree {
            Some(id) => self.repo.find_tree(id).unwrap(),
            None => {
                let empty = self.repo.treebuilder(None).unwrap().write().unwrap();
                self.repo.find_tree(empty).unwrap()
            }
        };
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|p| self.repo.find_commit(*p).unwrap())
            .collect();
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let signature = self.signature();
        let oid = self
            .repo
            .commit(None, &signature, &signature, message, &tree, &parent_refs)
            .unwrap();
        if let Some(branch) = branch {
            self.repo
                .reference(&format!("refs/heads/{branch}"), oid, true, "test")
                .unwrap();
        }
        oid
    }

    pub(super) fn note(&self, commit: Oid, body: &str) {
        let signature = self.signature();
        self.repo
            .note(
                &signature,
                &signature,
                Some("refs/notes/hydrator.metadata"),
                commit,
                body,
                true,
            )
            .unwrap();
    }

    pub(super) fn tip(&self, branch: &str) -> Oid {
        self.repo
            .refname_to_id(&format!("refs/heads/{branch}"))
            .unwrap()
    }
}

/// The file at `path` in `commit`, read from `repo` (the origin or a cache).
pub(super) fn read_file(repo: &Repository, commit: Oid, path: &str) -> Option<String> {
    let tree = repo.find_commit(commit).unwrap().tree().unwrap();
    let entry = tree.get_path(Path::new(path)).ok()?;
    let blob = repo.find_blob(entry.id()).ok()?;
    Some(String::from_utf8(blob.content().to_vec()).unwrap())
}

pub(super) fn metadata(dry: &str) -> String {
    format!(r#"{{"drySha":"{dry}","author":"Dev <dev@example.com>","subject":"change"}}"#)
}

pub(super) fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

pub(super) fn to_sha(oid: Oid) -> Sha {
    sha(oid)
}

/// The usual two-branch environment: `environment/dev-next` with one hydrated commit and
/// `environment/dev` branched from it, as upstream's fixtures do.
pub(super) fn dev_environment(origin: &Origin) -> (Oid, Oid) {
    let staging = origin.commit(
        "environment/dev-next",
        &[
            ("hydrator.metadata", Some(&metadata(DRY_A))),
            ("app/deploy.yaml", Some("replicas: 1\n")),
        ],
        "hydrate a",
    );
    origin
        .repo
        .reference("refs/heads/environment/dev", staging, true, "test")
        .unwrap();
    (staging, staging)
}
