//! What `apply` needs from git, as one narrow trait ([`GitWrites`]) in domain types: the ours-merge
//! and its push, and the re-reads after a write the SCM made (a merge, a refused create). The git
//! cache implements it here, so no git2 type leaves `crate::git`; the in-memory world of the
//! reconcile tests implements it too, so those tests drive the real `apply`.
//!
//! Not here: the reads of the observe step (`observe.rs` reads the cache directly).

use anyhow::Result;
use time::OffsetDateTime;

use crate::config::Config;
use crate::git::{GitCache, OursMerge};
use crate::model::{BranchName, Sha};
use crate::reconcile::GitFacts;
use crate::reconcile::observe::environment_git_facts;

/// The git operations of `apply`.
pub(crate) trait GitWrites {
    /// Reads `branch` from the remote again (after the SCM moved it); its tip, `None` when the
    /// remote no longer has it.
    fn refresh(&mut self, branch: &BranchName) -> Result<Option<Sha>>;
    /// The committer time of `commit` (for a merged promotion: the merge time).
    fn committer_time(&self, commit: &Sha) -> Result<OffsetDateTime>;
    /// Makes the ours-merge commit (docs/design.md §3 "Conflict") without moving any branch.
    fn ours_merge(&mut self, merge: &OursMerge<'_>, when: OffsetDateTime) -> Result<Sha>;
    /// Pushes `commit` to `branch` without force, only while the remote branch is at
    /// `expected_old`; otherwise fails with [`crate::git::BranchMoved`].
    fn push_branch(&mut self, commit: &Sha, branch: &BranchName, expected_old: &Sha) -> Result<()>;
    /// The git facts of environment `env` of strategy `strategy` as git has them now (after a
    /// [`GitWrites::refresh`]), read as the observe step reads them.
    fn environment_facts(&self, config: &Config, strategy: usize, env: usize) -> Result<GitFacts>;
}

impl GitWrites for GitCache {
    fn refresh(&mut self, branch: &BranchName) -> Result<Option<Sha>> {
        GitCache::refresh(self, branch)
    }

    fn committer_time(&self, commit: &Sha) -> Result<OffsetDateTime> {
        GitCache::committer_time(self, commit)
    }

    fn ours_merge(&mut self, merge: &OursMerge<'_>, when: OffsetDateTime) -> Result<Sha> {
        GitCache::ours_merge(self, merge, when)
    }

    fn push_branch(&mut self, commit: &Sha, branch: &BranchName, expected_old: &Sha) -> Result<()> {
        GitCache::push_branch(self, commit, branch, expected_old)
    }

    fn environment_facts(&self, config: &Config, strategy: usize, env: usize) -> Result<GitFacts> {
        environment_git_facts(config, strategy, env, self)
    }
}
