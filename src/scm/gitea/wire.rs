//! Gitea/Forgejo REST v1 wire shapes (swagger `v1_json.tmpl`: `PullRequest`, `CommitStatus`,
//! `CreatePullRequestOption`, `EditPullRequestOption`, `MergePullRequestOption`,
//! `CreateStatusOption`) and their mapping to domain types. What promoter reads and writes, and
//! nothing else. No I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::{PullRequest, StatusReport};

/// `PullRequest` (list items, get, create and edit answers have the same shape).
#[derive(Debug, Deserialize)]
pub(super) struct Pull {
    /// The index within the repository (`number` in the JSON, `{index}` in paths).
    pub number: u64,
    pub html_url: String,
    pub title: String,
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub head: Branch,
    pub base: Branch,
    /// `PullRequest.labels` (swagger `[]Label`, `name`: <https://gitea.com/api/swagger#/repository/repoListPullRequests>).
    #[serde(default)]
    pub labels: Vec<Label>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Label {
    pub name: String,
}

/// `PRBranchInfo`.
#[derive(Debug, Deserialize)]
pub(super) struct Branch {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
    /// `null` when the head repository (a fork) was deleted.
    pub repo: Option<Repo>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Repo {
    pub full_name: String,
}

impl Pull {
    /// Head and base are these branches and both live in `full_name`: a fork's PR from a branch of
    /// the same name has `head.repo.full_name` = the fork (swagger `PRBranchInfo.repo`).
    pub fn is_promotion_pr(&self, full_name: &str, head: &BranchName, base: &BranchName) -> bool {
        // Gitea owner and repository names are case-insensitive (lower_name columns).
        let in_repo = |b: &Branch| {
            b.repo
                .as_ref()
                .is_some_and(|repo| repo.full_name.eq_ignore_ascii_case(full_name))
        };
        self.state == "open"
            && self.head.name == head.as_str()
            && self.base.name == base.as_str()
            && in_repo(&self.head)
            && in_repo(&self.base)
    }

    pub fn is_open(&self) -> bool {
        self.state == "open"
    }

    pub fn into_domain(self) -> Result<PullRequest, String> {
        Ok(PullRequest {
            number: PrNumber(self.number),
            url: self.html_url,
            title: self.title,
            // Compared with the rendered body by callers; line endings are not a difference.
            body: self.body.unwrap_or_default().replace("\r\n", "\n"),
            head_sha: Sha::parse(&self.head.sha)?,
            head_branch: BranchName::parse(&self.head.name)?,
            base_branch: BranchName::parse(&self.base.name)?,
            labels: self.labels.into_iter().map(|l| l.name).collect(),
        })
    }
}

/// `CommitStatus`. The state is under `status` in answers, though requests send `state`
/// (swagger `CommitStatus.status`; fixture `commit-status.go-scm.json`).
#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    /// Grows with every status the instance stores (database id): the newest of a context has the
    /// highest, which is how Gitea itself picks the latest (`GetLatestCommitStatus`, `MAX(id)`
    /// grouped by context).
    pub id: u64,
    pub status: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
}

/// `CombinedStatus` (swagger repoGetCombinedStatusByRef): the latest status per context, paged.
/// Its `state` and `total_count` are not read: `total_count` counted only the page in older
/// releases, and promoter maps each context itself (docs/design.md §4.1).
#[derive(Debug, Deserialize)]
pub(super) struct CombinedStatus {
    #[serde(default)]
    pub statuses: Option<Vec<CommitStatus>>,
}

/// `CreatePullRequestOption`.
#[derive(Debug, Serialize)]
pub(super) struct CreatePull<'a> {
    pub head: &'a str,
    pub base: &'a str,
    pub title: &'a str,
    pub body: &'a str,
}

/// `EditPullRequestOption` (title and body only; the rest stays as it is).
#[derive(Debug, Serialize)]
pub(super) struct EditPull<'a> {
    pub title: &'a str,
    pub body: &'a str,
}

/// `MergePullRequestOption`, for every flavor at once.
///
/// Gitea releases and Forgejo name the fields `Do`, `MergeTitleField`, `MergeMessageField`; Gitea
/// main (`v1-swagger.generated.json`) renamed them `do`, `merge_title_field`,
/// `merge_message_field`. Go's JSON decoding matches keys case-insensitively but not across
/// underscores, so `Do` reaches both, and title and message are sent under both spellings; each
/// server ignores the spelling it does not know.
#[derive(Debug, Serialize)]
pub(super) struct MergePull<'a> {
    #[serde(rename = "Do")]
    pub style: &'static str,
    #[serde(rename = "MergeTitleField")]
    pub title: &'a str,
    #[serde(rename = "MergeMessageField")]
    pub message: &'a str,
    pub merge_title_field: &'a str,
    pub merge_message_field: &'a str,
    /// "the expected head commit id" — a different head answers 409 `head out of date`.
    pub head_commit_id: &'a str,
    pub delete_branch_after_merge: bool,
}

impl<'a> MergePull<'a> {
    pub fn merge_commit(title: &'a str, message: &'a str, head: &'a Sha) -> Self {
        Self {
            // Promotion history relies on merge commits (trailers, docs/design.md §3).
            style: "merge",
            title,
            message,
            merge_title_field: title,
            merge_message_field: message,
            head_commit_id: head.as_str(),
            // The staging branch is promoter's, and the next promotion reuses it.
            delete_branch_after_merge: false,
        }
    }
}

/// `CreateStatusOption`.
#[derive(Debug, Serialize)]
pub(super) struct CreateStatus<'a> {
    pub state: &'static str,
    pub context: &'a str,
    pub description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<&'a str>,
}

/// docs/design.md §4.1 for Gitea: `success`, `warning` (a non-blocking state) → success; `failure`, `error`
/// → failure; `pending` and anything unknown → pending.
pub(super) fn status_state(state: &str) -> GateState {
    match state {
        "success" | "warning" => GateState::Success,
        "failure" | "error" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// The newest status per context (highest id), in context order. Gitea keeps every status as a
/// new entry, so a context written twice appears twice in the list.
pub(super) fn reduce(statuses: Vec<CommitStatus>) -> Vec<StatusReport> {
    let mut newest: BTreeMap<String, CommitStatus> = BTreeMap::new();
    for status in statuses {
        match newest.get(&status.context) {
            Some(kept) if kept.id >= status.id => {}
            _ => {
                newest.insert(status.context.clone(), status);
            }
        }
    }
    newest
        .into_values()
        .map(|status| StatusReport {
            state: status_state(&status.status),
            name: status.context,
            description: status.description.unwrap_or_default(),
            target_url: status.target_url.filter(|u| !u.is_empty()),
            description_fixed: false,
        })
        .collect()
}
