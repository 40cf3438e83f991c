//! Bitbucket Data Center's merge, guarded by the PR `version` plus a head check (module doc of
//! `mod.rs`, docs/design.md §7): the read before it, the retry after a stale version, the veto
//! reasons after a refusal, and the second-parent check after it.

use anyhow::Context;

use super::{BitbucketServer, wire};
use crate::model::{PrNumber, Sha};
use crate::scm::MergeOutcome;
use crate::scm::http::{HttpError, Method, Retry};

/// 409 `PullRequestOutOfDateException`: "You are attempting to modify a pull request based on
/// out-of-date information." (the `version` sent is not the PR's).
pub(super) fn is_stale(error: &HttpError) -> bool {
    error.status() == Some(409)
        && error
            .message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("out-of-date"))
}

impl BitbucketServer {
    /// [`crate::scm::Scm::merge_pull_request`].
    pub(super) fn merge(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let context = || self.pulls().merge_context(number, head_sha);
        let text = if message.is_empty() {
            title.to_owned()
        } else {
            format!("{title}\n\n{message}")
        };
        // The merge request names no SHA: the head is checked on a read made immediately before
        // it, and that read's version makes the merge fail if the PR changes in between.
        let pull = self.get_pull(number).with_context(context)?;
        if let Some(outcome) = pull.decided(head_sha) {
            return Ok(outcome);
        }
        if !pull.is_open() {
            anyhow::bail!(
                "{}: the pull request is {} (not open); promoter opens a new one next pass if it is still needed",
                context(),
                pull.state
            );
        }
        let mut version = pull.version;
        for attempt in 0..2 {
            let error = match self.post_merge(number, version, &text) {
                // "Merge pull request", 200: the PR, `state: MERGED`.
                Ok(merged) => {
                    let merge_sha = merged.merge_sha();
                    if let Some(merge) = &merge_sha {
                        self.check_second_parent(merge, head_sha)
                            .with_context(context)?;
                    }
                    return Ok(MergeOutcome::Merged { merge_sha });
                }
                Err(error) => error,
            };
            if error.is_ambiguous() {
                // The merge may have happened: the PR says (docs/design.md §7).
                return match self
                    .outcome_from_pull(number, head_sha)
                    .with_context(context)?
                {
                    Some(outcome) => Ok(outcome),
                    None => Err(anyhow::Error::new(error)).with_context(context),
                };
            }
            let status = error.status().unwrap_or_default();
            let text_of = error.message().unwrap_or_default().to_owned();
            match status {
                // 409 out of date: the PR changed after the read. Its head decides: moved →
                // HeadMoved; the same head (a title edit, a reviewer) → once more with the new
                // version.
                409 if is_stale(&error) => {
                    let pull = self.get_pull(number).with_context(context)?;
                    if let Some(outcome) = pull.decided(head_sha) {
                        return Ok(outcome);
                    }
                    if attempt == 0 && pull.is_open() {
                        version = pull.version;
                        continue;
                    }
                    return Err(anyhow::Error::new(error)).with_context(context);
                }
                // 409 PullRequestMergeVetoedException (merge checks: approvals, builds, tasks),
                // conflicts, a disabled merge strategy; 400 an unknown strategy: a state, with the
                // reasons. The version matched, so the PR was open at the checked head: no re-read.
                400 | 409 => return Ok(self.refusal(number, status, &text_of)),
                _ => return Err(anyhow::Error::new(error)).with_context(context),
            }
        }
        unreachable!("the loop returns on its second attempt")
    }

    /// The merge refused: why, from the merge check ("Test if pull request can be merged").
    fn refusal(&self, number: PrNumber, status: u16, message: &str) -> MergeOutcome {
        let check: Result<wire::MergeCheck, _> = self
            .http
            .get_json(&format!("{}/merge", self.pr_path(number)));
        let reasons = check.map(|c| c.reasons()).unwrap_or_default();
        let said = if reasons.is_empty() {
            message
        } else {
            &reasons
        };
        let mut reason = format!("Bitbucket Data Center refused the merge ({status}): {said}");
        // A repository whose merge strategies leave out "Merge commit" (`no-ff`) refuses it.
        if said.contains("no-ff") || said.to_ascii_lowercase().contains("merge strategy") {
            reason.push_str(
                "; promoter needs merge commits: enable the \"Merge commit\" (no-ff) strategy in the repository settings, Merge strategies",
            );
        }
        MergeOutcome::Blocked {
            reason: crate::untrusted::one_line(&reason).into_owned(),
        }
    }

    /// After a merge answer that did not say merged: the PR says what happened.
    fn outcome_from_pull(
        &self,
        number: PrNumber,
        head_sha: &Sha,
    ) -> anyhow::Result<Option<MergeOutcome>> {
        Ok(self.get_pull(number)?.decided(head_sha))
    }

    /// docs/design.md §7.2: a merge not guarded by a SHA is checked after the fact. The merge
    /// commit's second parent ("Get commit", `parents`) must be the SHA whose gates were read;
    /// anything else is reported loudly, as an error naming both.
    fn check_second_parent(&self, merge: &Sha, head_sha: &Sha) -> anyhow::Result<()> {
        let commit: wire::Commit = self
            .http
            .get_json(&format!("{}/commits/{merge}", self.repo_path()))
            .with_context(|| format!("reading the merge commit {}", merge.short()))?;
        let second = commit.parents.get(1).map(|p| p.id.as_str());
        if second.is_some_and(|id| id.eq_ignore_ascii_case(head_sha.as_str())) {
            return Ok(());
        }
        anyhow::bail!(
            "MERGED A COMMIT WHOSE GATES WERE NOT READ: Bitbucket Data Center's merge commit {merge} has {} as its second parent, not {head_sha} (the head whose gates were read); check what reached the live branch and revert it if needed",
            second.unwrap_or("no second parent")
        )
    }

    /// `POST .../merge?version={version}`.
    fn post_merge(
        &self,
        number: PrNumber,
        version: u64,
        text: &str,
    ) -> Result<wire::Pull, HttpError> {
        let path = format!("{}/merge?version={version}", self.pr_path(number));
        let body = wire::MergePull {
            message: text,
            strategy_id: "no-ff",
            auto_subject: false,
        };
        self.http
            .send_json(Method::Post, &path, &body, Retry::NotBlindly)
    }
}
