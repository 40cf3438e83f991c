//! Gitea/Forgejo REST v1 wire shapes (swagger `v1_json.tmpl`: `PullRequest`, `CommitStatus`,
//! `MergePullRequestOption`, `CreateStatusOption`; `CreatePullRequestOption` and
//! `EditPullRequestOption` are GitHub's shapes too, in `scm/shared.rs`) and their mapping to
//! domain types. What promoter reads and writes, and nothing else. No I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, Sha};
use crate::scm::shared::{HtmlPull, WirePull};
use crate::scm::{PullRequest, StatusReport};

/// `PullRequest` (list items, get, create and edit answers have the same shape).
#[derive(Debug, Deserialize)]
pub(super) struct Pull {
    /// The index within the repository (`number` in the JSON, `{index}` in paths), page, text,
    /// head and base (`PRBranchInfo`; `head.repo` is the fork for a fork's PR).
    #[serde(flatten)]
    pub pull: HtmlPull,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
}

impl Pull {
    /// Open, and head and base are these branches, both in `full_name` (never a fork's PR).
    pub(super) fn is_promotion_pr(
        &self,
        full_name: &str,
        head: &BranchName,
        base: &BranchName,
    ) -> bool {
        self.is_open() && self.pull.is_between(full_name, head, base)
    }

    pub(super) fn is_open(&self) -> bool {
        self.state == "open"
    }
}

impl WirePull for Pull {
    fn number(&self) -> u64 {
        self.pull.number
    }

    fn into_domain(self) -> Result<PullRequest, String> {
        self.pull.into_domain()
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
    pub(super) fn merge_commit(title: &'a str, message: &'a str, head: &'a Sha) -> Self {
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
