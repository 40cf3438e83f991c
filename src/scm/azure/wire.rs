//! Azure DevOps Services REST 7.1 wire shapes (`specification/git/7.1/git.json` of
//! MicrosoftDocs/vsts-rest-api-specs: `GitPullRequest`, `GitStatus`, `GitPullRequestCompletionOptions`)
//! and their mapping to domain types. What promoter reads and writes, and nothing else. No I/O.
//!
//! <https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests?view=azure-devops-rest-7.1>
//! <https://learn.microsoft.com/en-us/rest/api/azure/devops/git/statuses?view=azure-devops-rest-7.1>

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::{PullRequest, StatusReport};

/// The `genre` promoter writes its own statuses under. A status of this genre is read back under
/// its bare `name` (the gate key); any other genre reads as `genre/name`, the way Azure DevOps
/// shows statuses in its UI (see [`report_name`]).
pub(super) const PROMOTER_GENRE: &str = "promoter";

/// `refs/heads/<branch>`: Azure DevOps names PR branches by their full ref (Pull Requests - Get
/// Pull Requests, `searchCriteria.sourceRefName`: "If set, search for pull requests from this
/// branch", given as `refs/heads/…`).
pub(super) fn full_ref(branch: &BranchName) -> String {
    format!("refs/heads/{branch}")
}

/// A list answer: `{"value": [...], "count": n}` (fixture `pulls-list-by-target.json`,
/// `commit-statuses-list.json`).
#[derive(Debug, Deserialize)]
pub(super) struct List<T> {
    pub value: Vec<T>,
}

/// `GitCommitRef` as a PR names it: `lastMergeSourceCommit`, `lastMergeCommit`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommitRef {
    pub commit_id: String,
}

/// `GitPullRequest` (list items, get, create and update answers have the same shape; list items
/// carry a description cut to 400 characters).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pull {
    pub pull_request_id: u64,
    /// `active`, `abandoned`, `completed` (`PullRequestStatus`; `notSet`, `all` are filters).
    pub status: String,
    pub title: String,
    /// Absent when empty.
    pub description: Option<String>,
    pub source_ref_name: String,
    pub target_ref_name: String,
    /// "The commit of the most recent pull request merge": the source head the server last
    /// test-merged. Absent for a moment while the first merge is queued.
    pub last_merge_source_commit: Option<CommitRef>,
    /// Set once completed: the merge commit on the target.
    pub last_merge_commit: Option<CommitRef>,
    /// `notSet`, `queued`, `conflicts`, `succeeded`, `rejectedByPolicy`, `failure`
    /// (`PullRequestAsyncStatus`).
    pub merge_status: Option<String>,
    /// "The date when the pull request was queued for completion": the PATCH to `completed` was
    /// accepted and the server has not finished merging.
    pub completion_queue_time: Option<String>,
    /// `mergeFailureMessage`: why the last merge attempt failed, when it did.
    pub merge_failure_message: Option<String>,
    /// Set on a PR whose source branch lives in a fork (`GitForkRef`).
    pub fork_source: Option<serde_json::Value>,
    /// The PR's tags (`labels`: `WebApiTagDefinition[]`, of which promoter reads `name`, for the
    /// hold label; Pull Requests - Get Pull Requests,
    /// <https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/get-pull-requests?view=azure-devops-rest-7.1>).
    #[serde(default)]
    pub labels: Vec<Tag>,
}

/// `WebApiTagDefinition`: a PR tag (shown as a label in the web UI).
#[derive(Debug, Deserialize)]
pub(super) struct Tag {
    pub name: String,
}

impl Pull {
    pub(super) fn is_active(&self) -> bool {
        self.status == "active"
    }

    pub(super) fn is_completed(&self) -> bool {
        self.status == "completed"
    }

    /// Active, from `head` into `base` of this repository (a fork's PR has `forkSource`).
    pub(super) fn is_promotion_pr(&self, head: &BranchName, base: &BranchName) -> bool {
        self.is_active()
            && self.fork_source.is_none()
            && self.source_ref_name == full_ref(head)
            && self.target_ref_name == full_ref(base)
    }

    /// The source head the server shows.
    pub(super) fn head(&self) -> Option<&str> {
        self.last_merge_source_commit
            .as_ref()
            .map(|c| c.commit_id.as_str())
    }

    /// The merge commit of a completed PR.
    pub(super) fn merge_sha(&self) -> Option<Sha> {
        self.last_merge_commit
            .as_ref()
            .and_then(|c| Sha::parse(&c.commit_id).ok())
    }

    /// The domain PR; `page` is the PR's web page (the API gives only its REST `url`).
    pub(super) fn into_domain(self, page: String) -> Result<PullRequest, String> {
        let head = Sha::parse(self.head().ok_or(
            "it has no lastMergeSourceCommit yet (the server is still computing its merge)",
        )?)?;
        let branch = |name: &str| {
            let short = name
                .strip_prefix("refs/heads/")
                .ok_or_else(|| format!("`{name}` is not a branch ref"))?;
            BranchName::parse(short)
        };
        Ok(PullRequest {
            number: PrNumber(self.pull_request_id),
            url: page,
            // Compared with the rendered body by callers; line endings are not a difference.
            body: self.description.unwrap_or_default().replace("\r\n", "\n"),
            head_sha: head,
            head_branch: branch(&self.source_ref_name)?,
            base_branch: branch(&self.target_ref_name)?,
            title: self.title,
            labels: self.labels.into_iter().map(|tag| tag.name).collect(),
        })
    }
}

/// Pull Requests - Create body (`GitPullRequest`; fixture `pull-create.request.json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreatePull<'a> {
    pub source_ref_name: String,
    pub target_ref_name: String,
    pub title: &'a str,
    pub description: &'a str,
}

/// Pull Requests - Update body replacing the text (fields left out stay as they are).
#[derive(Debug, Serialize)]
pub(super) struct UpdateText<'a> {
    pub title: &'a str,
    pub description: &'a str,
}

/// Pull Requests - Update body completing the PR: `status: completed` with the source commit the
/// gates were read on (`lastMergeSourceCommit`, required, and refused when the source moved) and
/// a merge commit (`completionOptions.mergeStrategy: noFastForward`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Complete<'a> {
    pub status: &'static str,
    pub last_merge_source_commit: CommitId<'a>,
    pub completion_options: CompletionOptions,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CommitId<'a> {
    pub commit_id: &'a str,
}

/// `GitPullRequestCompletionOptions`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CompletionOptions {
    /// `noFastForward`: "a two-parent, no-fast-forward merge" — promotion history relies on merge
    /// commits (docs/design.md §3).
    pub merge_strategy: &'static str,
    pub merge_commit_message: String,
    /// The staging branch is promoter's, and the next promotion reuses it.
    pub delete_source_branch: bool,
    /// Promotion PRs link no work items; never touch their state.
    pub transition_work_items: bool,
}

impl<'a> Complete<'a> {
    /// Completion of the PR whose source head is `head`, with `title` and `message` as the merge
    /// commit's message (Azure DevOps takes one message: the title, a blank line, the body).
    pub(super) fn merge_commit(head: &'a Sha, title: &str, message: &str) -> Self {
        let merge_commit_message = if message.is_empty() {
            title.to_owned()
        } else {
            format!("{title}\n\n{message}")
        };
        Self {
            status: "completed",
            last_merge_source_commit: CommitId {
                commit_id: head.as_str(),
            },
            completion_options: CompletionOptions {
                merge_strategy: "noFastForward",
                merge_commit_message,
                delete_source_branch: false,
                transition_work_items: false,
            },
        }
    }
}

/// `GitStatusContext` as written: `name` (required) and `genre`.
#[derive(Debug, Serialize)]
pub(super) struct StatusContext<'a> {
    pub name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub genre: Option<&'a str>,
}

/// `GitStatus` as written (Statuses - Create; fixture `commit-status-create.request.json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateStatus<'a> {
    pub state: &'static str,
    pub description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<&'a str>,
    pub context: StatusContext<'a>,
}

/// `GitStatus` as read (Statuses - List; fixture `commit-statuses-list.json`).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Status {
    /// Absent in answers of older servers; the newest has the highest id.
    #[serde(default)]
    pub id: u64,
    pub state: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub context: OwnedContext,
    /// RFC 3339; orders statuses when ids are absent.
    #[serde(default)]
    pub creation_date: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct OwnedContext {
    pub name: String,
    #[serde(default)]
    pub genre: Option<String>,
}

/// promoter's state as Azure DevOps' `GitStatusState`.
pub(super) fn state_name(state: GateState) -> &'static str {
    match state {
        GateState::Success => "succeeded",
        GateState::Failure => "failed",
        GateState::Pending => "pending",
    }
}

/// docs/design.md §4.1 for Azure DevOps (`GitStatusState`): `succeeded`, `notApplicable` →
/// success; `failed`, `error` → failure; `pending`, `notSet` and anything unknown → pending.
pub(super) fn status_state(state: &str) -> GateState {
    match state {
        "succeeded" | "notApplicable" => GateState::Success,
        "failed" | "error" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// The name a status is read under: its bare `name` when its genre is promoter's own or empty,
/// else `genre/name` (how the Azure DevOps UI shows it, e.g. `continuous-integration/build`).
pub(super) fn report_name(context: &OwnedContext) -> String {
    match context.genre.as_deref().map(str::trim) {
        None | Some("") | Some(PROMOTER_GENRE) => context.name.clone(),
        Some(genre) => format!("{genre}/{}", context.name),
    }
}

/// The newest status per name (highest id, else latest creation date, else the later one in the
/// list), in name order. With `latestOnly=true` the server already keeps one per genre and name.
pub(super) fn reduce(statuses: Vec<Status>) -> Vec<StatusReport> {
    let mut newest: BTreeMap<String, (usize, Status)> = BTreeMap::new();
    for (position, status) in statuses.into_iter().enumerate() {
        let name = report_name(&status.context);
        let newer = |kept: &(usize, Status)| {
            (status.id, status.creation_date.as_str(), position)
                > (kept.1.id, kept.1.creation_date.as_str(), kept.0)
        };
        if newest.get(&name).is_none_or(newer) {
            newest.insert(name, (position, status));
        }
    }
    newest
        .into_iter()
        .map(|(name, (_, status))| StatusReport {
            state: status_state(&status.state),
            name,
            description: status.description.unwrap_or_default(),
            target_url: status.target_url.filter(|u| !u.trim().is_empty()),
            description_fixed: false,
        })
        .collect()
}
