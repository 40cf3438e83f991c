//! Reads the promotions of one environment out of its live branch: walking first parents from
//! the live tip, a commit is a promotion when the DRY commit it makes live differs from its first
//! parent's. Works for promoter's merges (trailers), a person's merge commit, and squash or
//! rebase merges (no trailers, one parent: the hydrator.metadata in the tree still says which DRY
//! commit is live). Reads git only; deciding what the records mean is `metrics`' and `locate`'s.

use std::collections::BTreeMap;

use anyhow::Result;
use serde::Serialize;
use time::OffsetDateTime;

use crate::git::{GitCache, MetadataError};
use crate::model::{BranchName, HydratorMetadata, Sha};

/// How a promotion reached the live branch, which says how much of its record git has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum MergeKind {
    /// A merge commit with promoter's trailers (promoter merged it, or a tool keeping them).
    Trailers,
    /// A merge commit without trailers: merged by a person in the SCM's UI.
    MergeCommit,
    /// One parent: a squash or rebase merge, or a direct push to the live branch.
    Commit,
}

/// One promotion of one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Promotion {
    /// The DRY commit made live: `Sha-dry-proposed` when the merge carries it, else the
    /// hydrator.metadata in the commit's tree.
    pub dry_sha: Sha,
    /// Subject, author and date of the DRY commit, from hydrator.metadata (empty or `None`
    /// when the hydrator did not write them).
    pub dry_subject: String,
    pub dry_author: String,
    #[serde(serialize_with = "crate::insight::rfc3339_option")]
    pub dry_date: Option<OffsetDateTime>,
    /// The hydrated commit promoted: the merge's second parent, or the commit itself.
    pub hydrated_sha: Sha,
    /// The commit on the live branch that made it live.
    pub live_sha: Sha,
    /// Committer time of `live_sha`: when the promotion merged.
    #[serde(serialize_with = "crate::insight::rfc3339")]
    pub merged_at: OffsetDateTime,
    /// `Pull-request-id` / `Pull-request-url` trailers, or the `#N` / `!N` of a merge subject.
    pub pull_request: Option<String>,
    pub pull_request_url: Option<String>,
    pub merge_kind: MergeKind,
}

impl Promotion {
    /// From the DRY commit to live, when the hydrator wrote the DRY commit's date.
    pub(crate) fn lead_time(&self) -> Option<time::Duration> {
        self.dry_date.map(|date| self.merged_at - date)
    }
}

/// How far back to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// Promotions merged before this are not read (the walk stops at the first older commit).
    pub since: Option<OffsetDateTime>,
    /// At most this many first-parent commits are read per branch, whatever `since` says.
    pub max_commits: usize,
}

impl Default for Window {
    fn default() -> Self {
        Self {
            since: None,
            max_commits: 10_000,
        }
    }
}

/// Every promotion of `branch` within `window`, newest first. A bare `Pull-request-id` trailer
/// (`12`) is shown with the SCM's `sigil` (`#12`, GitLab `!12`).
pub(crate) fn promotions(
    git: &GitCache,
    branch: &BranchName,
    active_path: Option<&str>,
    sigil: char,
    window: Window,
) -> Result<Vec<Promotion>> {
    let tip = git.live_tip(branch)?;
    // One commit more than asked: the oldest commit read needs its parent's DRY commit.
    let chain = git.first_parents(&tip, window.max_commits.saturating_add(1))?;
    let mut found = Vec::new();
    let dry_of = |commit: &Sha| -> Result<Option<HydratorMetadata>> {
        match git.hydrator_metadata(commit, active_path, branch) {
            Ok(metadata) => Ok(Some(metadata)),
            // Before the first promotion a live branch has no metadata; an invalid file on an
            // old commit is history, not an error of today's pass.
            Err(MetadataError::Missing { .. } | MetadataError::Invalid { .. }) => Ok(None),
            Err(error) => Err(error.into()),
        }
    };
    let mut current = match chain.first() {
        Some(first) => dry_of(first)?,
        None => None,
    };
    for (index, commit) in chain.iter().enumerate().take(window.max_commits) {
        let info = git.commit_info(commit)?;
        if window
            .since
            .is_some_and(|since| info.committer_time < since)
        {
            break;
        }
        let parent = match chain.get(index + 1) {
            Some(parent) => dry_of(parent)?,
            None => None,
        };
        if let Some(metadata) = current.take()
            && parent.as_ref().map(|p| &p.dry_sha) != Some(&metadata.dry_sha)
        {
            let trailers = git.trailers(commit)?;
            found.push(record(commit, &info, &metadata, &trailers, sigil));
        }
        current = parent;
    }
    Ok(found)
}

fn record(
    commit: &Sha,
    info: &crate::git::CommitInfo,
    metadata: &HydratorMetadata,
    trailers: &BTreeMap<String, String>,
    sigil: char,
) -> Promotion {
    let merge_kind = match (
        info.parents.len(),
        trailers.contains_key("Sha-dry-proposed"),
    ) {
        (0 | 1, _) => MergeKind::Commit,
        (_, true) => MergeKind::Trailers,
        (_, false) => MergeKind::MergeCommit,
    };
    let dry_sha = trailers
        .get("Sha-dry-proposed")
        .and_then(|value| Sha::parse(value).ok())
        .unwrap_or_else(|| metadata.dry_sha.clone());
    Promotion {
        dry_sha,
        dry_subject: metadata.subject.clone(),
        dry_author: metadata.author.clone(),
        dry_date: metadata.date,
        hydrated_sha: info
            .parents
            .get(1)
            .cloned()
            .unwrap_or_else(|| commit.clone()),
        live_sha: commit.clone(),
        merged_at: info.committer_time,
        pull_request: trailers
            .get("Pull-request-id")
            .map(|id| match id.bytes().all(|b| b.is_ascii_digit()) {
                true => format!("{sigil}{id}"),
                false => id.clone(),
            })
            .or_else(|| pull_request_in_subject(&info.subject)),
        pull_request_url: trailers.get("Pull-request-url").cloned(),
        merge_kind,
    }
}

/// The PR a merge subject names: GitHub's and Gitea's `Merge pull request #12 from …`, GitLab's
/// `… See merge request group/project!12` (its default merge commit message ends with it, but the
/// subject is `Merge branch '…' into '…'`, so the body is not read and `!N` is only found when a
/// template put it in the subject). The first `#N` or `!N` token wins.
fn pull_request_in_subject(subject: &str) -> Option<String> {
    subject.split_whitespace().find_map(|word| {
        let at = word.find(['#', '!'])?;
        let digits: String = word[at + 1..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        (!digits.is_empty() && digits.len() <= 12).then(|| format!("{}{digits}", &word[at..=at]))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merge_subject_names_its_pull_request() {
        assert_eq!(
            pull_request_in_subject("Merge pull request #12 from acme/environment/dev-next"),
            Some("#12".into())
        );
        assert_eq!(
            pull_request_in_subject("Promote abc (acme/deploy!7)"),
            Some("!7".into())
        );
        assert_eq!(pull_request_in_subject("Merge branch 'x' into 'y'"), None);
        assert_eq!(pull_request_in_subject("fix #"), None);
    }
}
