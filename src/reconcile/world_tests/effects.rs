//! The in-memory world as the real `apply` sees it: an [`Scm`] (with empty [`Issues`]) and a
//! [`GitWrites`], both writing into the one [`World`] and logging each write in `World::calls`.

use std::sync::{Mutex, MutexGuard, PoisonError};

use time::OffsetDateTime;

use super::{FakePr, World};
use crate::config::Config;
use crate::git::OursMerge;
use crate::model::{BranchName, PrNumber, Sha};
use crate::reconcile::GitFacts;
use crate::reconcile::git_writes::GitWrites;
use crate::scm::{
    Issue, Issues, MergeOutcome, NewPullRequest, PullRequest, Scm, StatusReport, StatusWrite,
};

/// The world as the real `apply` sees it: its SCM and its git, both writing into the one world
/// and logging each write in `calls`. A mutex, not a `RefCell`: an [`Scm`] is shared across the
/// threads of a pass's reads, so it must be `Sync`.
#[derive(Clone, Copy)]
pub(super) struct Effects<'c, 'w>(pub(super) &'c Mutex<&'w mut World>);

impl<'w> Effects<'_, 'w> {
    fn world(&self) -> MutexGuard<'_, &'w mut World> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Issues for Effects<'_, '_> {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        Ok(Vec::new())
    }

    fn create_issue(&self, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        anyhow::bail!("the world has no issues")
    }

    fn update_issue(&self, _number: u64, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        anyhow::bail!("the world has no issues")
    }

    fn issue_body_limit(&self) -> usize {
        0
    }
}

impl Scm for Effects<'_, '_> {
    fn find_open_pull_request(
        &self,
        head: &BranchName,
        base: &BranchName,
    ) -> anyhow::Result<Option<PullRequest>> {
        let world = self.world();
        Ok(world
            .prs
            .iter()
            .find(|p| p.open && p.head == *head && p.base == *base)
            .map(|pr| world.pr_view(pr)))
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest> {
        let mut world = self.world();
        world.calls.push(format!("create-pr {}", new.base));
        let pr = FakePr {
            number: PrNumber(world.prs.len() as u64 + 1),
            head: new.head.clone(),
            base: new.base.clone(),
            title: new.title.clone(),
            body: new.body.clone(),
            open: true,
            merged: false,
            labels: Vec::new(),
        };
        let view = world.pr_view(&pr);
        world.prs.push(pr);
        Ok(view)
    }

    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest> {
        let mut world = self.world();
        world.calls.push(format!("update-pr {number}"));
        let pr = world.prs.iter_mut().find(|p| p.number == number).unwrap();
        pr.title = title.to_owned();
        pr.body = body.to_owned();
        let pr = pr.clone();
        Ok(world.pr_view(&pr))
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        _title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let mut world = self.world();
        world.calls.push(format!("merge {number}"));
        let pr = world
            .prs
            .iter()
            .find(|p| p.number == number)
            .unwrap()
            .clone();
        assert!(pr.open, "merging a PR that is not open");
        assert_eq!(
            &world.pr_view(&pr).head_sha,
            head_sha,
            "the merge guard must be the head"
        );
        world
            .merges
            .push((number, head_sha.clone(), message.to_owned()));
        let merge_sha = world.merge(number);
        Ok(MergeOutcome::Merged {
            merge_sha: Some(merge_sha),
        })
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        Ok(self.world().statuses.get(sha).cloned().unwrap_or_default())
    }

    fn write_status(&self, sha: &Sha, write: &StatusWrite) -> anyhow::Result<()> {
        let mut world = self.world();
        world.calls.push(format!(
            "write-status {}={} {}",
            write.context,
            write.state.as_str(),
            sha.short()
        ));
        let reports = world.statuses.entry(sha.clone()).or_default();
        reports.retain(|r| r.name != write.context);
        reports.push(StatusReport {
            name: write.context.clone(),
            state: write.state,
            description: write.description.clone(),
            target_url: write.target_url.clone(),
            description_fixed: false,
        });
        Ok(())
    }
}

impl GitWrites for Effects<'_, '_> {
    fn refresh(&mut self, branch: &BranchName) -> anyhow::Result<Option<Sha>> {
        let mut world = self.world();
        world.refreshes.push(branch.clone());
        Ok(world.branch_tip(branch).map(|(_, tip)| tip))
    }

    fn committer_time(&self, commit: &Sha) -> anyhow::Result<OffsetDateTime> {
        Ok(self.world().commits[commit].committed_at)
    }

    fn ours_merge(&mut self, merge: &OursMerge<'_>, _when: OffsetDateTime) -> anyhow::Result<Sha> {
        let mut world = self.world();
        let dry = world.commits[merge.staging_tip].dry.clone();
        Ok(world.commit(dry))
    }

    fn push_branch(
        &mut self,
        commit: &Sha,
        branch: &BranchName,
        expected_old: &Sha,
    ) -> anyhow::Result<()> {
        let mut world = self.world();
        let (i, old) = world.branch_tip(branch).unwrap();
        assert_eq!(&old, expected_old, "pushing over a tip apply did not read");
        let live = world.config.strategies[0].environments[i].branch.clone();
        world.calls.push(format!("push-ours {live}"));
        // The note stays on the old tip; a hydrator re-notes the new tip on its next run.
        world.branches[i].staging = commit.clone();
        world.branches[i].conflict = false;
        Ok(())
    }

    fn environment_facts(
        &self,
        _config: &Config,
        _strategy: usize,
        env: usize,
    ) -> anyhow::Result<GitFacts> {
        Ok(self.world().git_facts(env))
    }
}
