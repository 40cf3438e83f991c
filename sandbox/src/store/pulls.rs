//! The pull request rules of the forge: reading PRs with their head following the head branch,
//! opening (duplicates, empty and missing branches refused), updating, mergeability, and merging
//! with a head-SHA guard and an atomic base-ref move.

use anyhow::Context;
use git2::Oid;

use super::{
    ForgeError, MergeMethod, MergeRequest, Merged, NewPull, PullRecord, PullState, Store, UserKind,
    now,
};
use crate::bare::{self, Person};

impl Store {
    /// Every PR of the repository, head SHAs refreshed from the branches, newest first.
    pub(crate) fn pulls(&mut self, full_name: &str) -> Result<Vec<PullRecord>, ForgeError> {
        self.repo(full_name)?;
        let numbers: Vec<u64> = self
            .pulls
            .get(full_name)
            .map(|pulls| pulls.iter().map(|pull| pull.number).collect())
            .unwrap_or_default();
        let mut out = Vec::new();
        for number in numbers.into_iter().rev() {
            out.push(self.pull(full_name, number)?);
        }
        Ok(out)
    }

    /// One PR with its head SHA following the head branch (kept when the branch is gone).
    pub(crate) fn pull(&mut self, full_name: &str, number: u64) -> Result<PullRecord, ForgeError> {
        let pull = self.find_pull(full_name, number)?.clone();
        if pull.state == PullState::Closed {
            return Ok(pull);
        }
        let head = bare::branch_tip(&self.git(&pull.head_repo)?, &pull.head_branch)?;
        let base = bare::branch_tip(&self.git(&pull.base_repo)?, &pull.base_branch)?;
        let record = self.find_pull_mut(full_name, number)?;
        if let Some(head) = head {
            record.head_sha = head.to_string();
        }
        if let Some(base) = base {
            record.base_sha = base.to_string();
        }
        Ok(record.clone())
    }

    fn find_pull(&self, full_name: &str, number: u64) -> Result<&PullRecord, ForgeError> {
        self.pulls
            .get(full_name)
            .and_then(|pulls| pulls.iter().find(|pull| pull.number == number))
            .ok_or(ForgeError::NotFound)
    }

    fn find_pull_mut(
        &mut self,
        full_name: &str,
        number: u64,
    ) -> Result<&mut PullRecord, ForgeError> {
        self.pulls
            .get_mut(full_name)
            .and_then(|pulls| pulls.iter_mut().find(|pull| pull.number == number))
            .ok_or(ForgeError::NotFound)
    }

    /// Whether the open PR would merge cleanly now; `None` once it is closed.
    pub(crate) fn mergeable(&self, pull: &PullRecord) -> Result<Option<bool>, ForgeError> {
        if pull.state == PullState::Closed {
            return Ok(None);
        }
        let repo = self.git(&pull.base_repo)?;
        let (Some(base), Some(head)) = (
            bare::branch_tip(&repo, &pull.base_branch)?,
            self.head_tip_in(&repo, pull)?,
        ) else {
            return Ok(Some(false));
        };
        Ok(Some(bare::merge_tree(&repo, base, head)?.is_some()))
    }

    /// The head tip, made available inside the base repository (forks are fetched into it, as
    /// GitHub keeps `refs/pull/N/head` in the base repository).
    fn head_tip_in(
        &self,
        base: &git2::Repository,
        pull: &PullRecord,
    ) -> Result<Option<Oid>, ForgeError> {
        let head_repo = self.git(&pull.head_repo)?;
        let Some(tip) = bare::branch_tip(&head_repo, &pull.head_branch)? else {
            return Ok(None);
        };
        if pull.head_repo != pull.base_repo && base.find_commit(tip).is_err() {
            let path = self.repo_path(&pull.head_repo);
            let mut remote = base
                .remote_anonymous(&path.to_string_lossy())
                .context("reaching the fork")?;
            let refspec = format!(
                "+refs/heads/{}:refs/pull/{}/head",
                pull.head_branch, pull.number
            );
            remote
                .fetch(&[refspec.as_str()], None, None)
                .with_context(|| format!("fetching the fork's branch {}", pull.head_branch))?;
        }
        Ok(Some(tip))
    }

    pub(crate) fn open_pull(
        &mut self,
        base_repo: &str,
        new: NewPull,
    ) -> Result<PullRecord, ForgeError> {
        self.repo(base_repo)?;
        let head_repo_git = self.git(&new.head_repo)?;
        let base_git = self.git(base_repo)?;
        let head_tip = bare::branch_tip(&head_repo_git, &new.head_branch)?
            .ok_or(ForgeError::MissingBranch { field: "head" })?;
        let base_tip = bare::branch_tip(&base_git, &new.base_branch)?
            .ok_or(ForgeError::MissingBranch { field: "base" })?;
        let head_owner = new.head_repo.split('/').next().unwrap_or_default();
        let label = format!("{head_owner}:{}", new.head_branch);
        let duplicate = self.pulls.get(base_repo).is_some_and(|pulls| {
            pulls.iter().any(|pull| {
                pull.state == PullState::Open
                    && pull.head_repo == new.head_repo
                    && pull.head_branch == new.head_branch
                    && pull.base_branch == new.base_branch
            })
        });
        if duplicate {
            return Err(ForgeError::PullExists { head_label: label });
        }
        // One sequence with the repository's issues (`issues.rs`).
        let number = self.next_number(base_repo);
        let probe = PullRecord {
            id: 0,
            number,
            base_repo: base_repo.to_owned(),
            head_repo: new.head_repo.clone(),
            head_branch: new.head_branch.clone(),
            base_branch: new.base_branch.clone(),
            title: new.title.clone(),
            body: new.body.clone(),
            author: new.author.clone(),
            state: PullState::Open,
            head_sha: head_tip.to_string(),
            base_sha: base_tip.to_string(),
            merged: None,
            created_at: now(),
            updated_at: now(),
            closed_at: None,
            labels: Vec::new(),
        };
        self.head_tip_in(&base_git, &probe)?;
        if bare::contains(&base_git, base_tip, head_tip)? {
            return Err(ForgeError::NoCommits {
                base: new.base_branch,
                head: label,
            });
        }
        let record = PullRecord {
            id: self.id(),
            ..probe
        };
        self.ensure_user(&new.author, UserKind::User);
        self.pulls
            .entry(base_repo.to_owned())
            .or_default()
            .push(record.clone());
        Ok(record)
    }

    /// Changes title, body and/or state (`open`/`closed`).
    pub(crate) fn update_pull(
        &mut self,
        full_name: &str,
        number: u64,
        title: Option<String>,
        body: Option<String>,
        state: Option<PullState>,
    ) -> Result<PullRecord, ForgeError> {
        let current = self.pull(full_name, number)?;
        if state == Some(PullState::Open) && current.state == PullState::Closed {
            if current.merged.is_some() {
                return Err(ForgeError::Invalid {
                    field: "state".into(),
                    message: "state cannot be changed. The pull request cannot be reopened because it was merged.".into(),
                });
            }
            let duplicate = self.pulls.get(full_name).is_some_and(|pulls| {
                pulls.iter().any(|pull| {
                    pull.state == PullState::Open
                        && pull.head_repo == current.head_repo
                        && pull.head_branch == current.head_branch
                        && pull.base_branch == current.base_branch
                })
            });
            if duplicate {
                return Err(ForgeError::PullExists {
                    head_label: current.head_label(),
                });
            }
        }
        let record = self.find_pull_mut(full_name, number)?;
        if let Some(title) = title {
            record.title = title;
        }
        if let Some(body) = body {
            record.body = body;
        }
        if let Some(state) = state
            && state != record.state
        {
            record.closed_at = (state == PullState::Closed).then(now);
            record.state = state;
        }
        record.updated_at = now();
        self.pull(full_name, number)
    }

    /// Replaces the PR's labels (names kept as given; an open or closed PR alike, as on GitHub).
    pub(crate) fn set_pull_labels(
        &mut self,
        full_name: &str,
        number: u64,
        labels: Vec<String>,
    ) -> Result<(), ForgeError> {
        let record = self.find_pull_mut(full_name, number)?;
        record.labels = labels;
        record.updated_at = now();
        Ok(())
    }

    /// Merges an open PR: the merge (or squash) commit is built in memory from the current tips,
    /// and the base branch is moved only if it is still where it was read (compare-and-swap).
    pub(crate) fn merge_pull(
        &mut self,
        full_name: &str,
        number: u64,
        request: MergeRequest,
    ) -> Result<String, ForgeError> {
        let MergeRequest {
            merger,
            expected_head,
            method,
            title,
            message,
        } = request;
        let merger = merger.as_str();
        let pull = self.pull(full_name, number)?;
        if pull.state == PullState::Closed {
            return Err(ForgeError::NotMergeable);
        }
        let repo = self.git(full_name)?;
        let head = self
            .head_tip_in(&repo, &pull)?
            .ok_or(ForgeError::NotMergeable)?;
        // GitHub pulls/merge: `sha` is the SHA the head must match to allow the merge.
        if let Some(expected) = expected_head.as_deref()
            && !expected.eq_ignore_ascii_case(&head.to_string())
        {
            return Err(ForgeError::HeadMoved);
        }
        let settings = self.repo(full_name)?;
        let allowed = match method {
            MergeMethod::Merge => settings.allow_merge_commit,
            MergeMethod::Squash => settings.allow_squash_merge,
            MergeMethod::Rebase => settings.allow_rebase_merge,
        };
        if !allowed {
            return Err(ForgeError::MethodNotAllowed(method));
        }
        let base = bare::branch_tip(&repo, &pull.base_branch)?.ok_or(ForgeError::NotMergeable)?;
        let tree = bare::merge_tree(&repo, base, head)?.ok_or(ForgeError::NotMergeable)?;
        let head_label = pull.head_label().replacen(':', "/", 1);
        let title = title.unwrap_or_else(|| match method {
            MergeMethod::Squash => format!("{} (#{number})", pull.title),
            _ => format!("Merge pull request #{number} from {head_label}"),
        });
        let message = message.unwrap_or_else(|| match method {
            MergeMethod::Squash => String::new(),
            _ => pull.title.clone(),
        });
        let full_message = if message.is_empty() {
            title
        } else {
            format!("{title}\n\n{message}")
        };
        let time = self.merge_now();
        let author = Person {
            name: merger.to_owned(),
            email: format!("{merger}@users.noreply.sandbox.invalid"),
            time,
        };
        let committer = Person {
            name: "Sandbox Forge".to_owned(),
            email: "noreply@sandbox.invalid".to_owned(),
            time,
        };
        let parents: Vec<Oid> = match method {
            MergeMethod::Squash => vec![base],
            _ => vec![base, head],
        };
        let commit = bare::commit_tree(&repo, tree, &parents, &full_message, &author, &committer)?;
        match bare::move_branch(&repo, &pull.base_branch, Some(base), commit, &full_message) {
            Ok(()) => {}
            Err(error) if error.is::<bare::RefMoved>() => return Err(ForgeError::BaseMoved),
            Err(error) => return Err(error.into()),
        }
        let sha = commit.to_string();
        let record = self.find_pull_mut(full_name, number)?;
        record.state = PullState::Closed;
        record.head_sha = head.to_string();
        record.closed_at = Some(time);
        record.updated_at = time;
        record.merged = Some(Merged {
            sha: sha.clone(),
            at: time,
            by: merger.to_owned(),
        });
        Ok(sha)
    }
}
