//! GitLab REST v4 wire shapes and their mapping to domain types: what promoter reads from and
//! writes to GitLab (merge requests, commit statuses, pipelines), and nothing else. No I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::{PullRequest, StatusReport};

/// The name under which the newest pipeline of a SHA is reported (docs/design.md §4.1 for GitLab: "pipeline
/// … statuses"), so `key: pipeline` gates on the whole CI pipeline.
pub(crate) const PIPELINE_REPORT: &str = "pipeline";

/// A merge request: `MergeRequestBasic` (list) or `MergeRequest` (get, create, update, merge).
/// Booleans and most strings may be `null` (GitLab docs doc/api/rest/index.md; seen null in its own examples).
#[derive(Debug, Deserialize)]
pub(super) struct MergeRequest {
    pub iid: u64,
    pub web_url: String,
    pub title: String,
    pub description: Option<String>,
    /// `opened`, `closed`, `locked`, `merged`.
    pub state: String,
    /// The source branch head; `diff_refs.head_sha` is the fallback when it is not filled yet.
    pub sha: Option<String>,
    pub source_branch: String,
    pub target_branch: String,
    pub source_project_id: u64,
    pub target_project_id: u64,
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
    #[serde(default)]
    pub detailed_merge_status: Option<String>,
    #[serde(default)]
    pub merge_error: Option<String>,
    #[serde(default)]
    pub diff_refs: Option<DiffRefs>,
    /// Label names (strings unless `with_labels_details=true`, docs merge_requests.md, "List
    /// project merge requests": <https://docs.gitlab.com/api/merge_requests/>).
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct DiffRefs {
    pub head_sha: Option<String>,
}

impl MergeRequest {
    /// An open merge request from `head` into `base` inside one project. A fork's merge request
    /// has another `source_project_id` (docs merge_requests.md, "List project merge requests"),
    /// so it is never the environment's.
    pub(super) fn is_promotion_mr(&self, head: &BranchName, base: &BranchName) -> bool {
        self.state == "opened"
            && self.source_branch == head.as_str()
            && self.target_branch == base.as_str()
            && self.source_project_id == self.target_project_id
    }

    pub(super) fn head_sha(&self) -> Option<&str> {
        self.sha
            .as_deref()
            .or_else(|| self.diff_refs.as_ref().and_then(|d| d.head_sha.as_deref()))
    }

    pub(super) fn into_domain(self) -> Result<PullRequest, String> {
        let head_sha = Sha::parse(
            self.head_sha()
                .ok_or("the merge request has no head SHA yet")?,
        )?;
        Ok(PullRequest {
            number: PrNumber(self.iid),
            url: self.web_url,
            title: self.title,
            // Compared with the rendered body by callers; line endings are not a difference.
            body: self.description.unwrap_or_default().replace("\r\n", "\n"),
            head_sha,
            head_branch: BranchName::parse(&self.source_branch)?,
            base_branch: BranchName::parse(&self.target_branch)?,
            labels: self.labels,
        })
    }
}

impl crate::scm::shared::WirePull for MergeRequest {
    fn number(&self) -> u64 {
        self.iid
    }

    fn into_domain(self) -> Result<PullRequest, String> {
        MergeRequest::into_domain(self)
    }
}

/// One commit status (external status or CI job): list items and the create answer.
#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    pub id: u64,
    pub name: String,
    /// `created`, `pending`, `running`, `success`, `failed`, `canceled`, `skipped`, `manual`, …
    pub status: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    #[serde(default)]
    pub allow_failure: Option<bool>,
}

/// `GET /projects/:id/pipelines` items (docs pipelines.md, "List project pipelines").
#[derive(Debug, Deserialize)]
pub(super) struct Pipeline {
    pub id: u64,
    pub status: String,
    pub web_url: Option<String>,
}

/// `POST /projects/:id/merge_requests` body.
#[derive(Debug, Serialize)]
pub(super) struct CreateMergeRequest<'a> {
    pub source_branch: &'a str,
    pub target_branch: &'a str,
    pub title: &'a str,
    pub description: &'a str,
    /// The staging branch belongs to the hydrator; merging must never delete it.
    pub remove_source_branch: bool,
}

/// `PUT /projects/:id/merge_requests/:iid` body.
#[derive(Debug, Serialize)]
pub(super) struct UpdateMergeRequest<'a> {
    pub title: &'a str,
    pub description: &'a str,
}

/// `PUT /projects/:id/merge_requests/:iid/merge` body.
#[derive(Debug, Serialize)]
pub(super) struct Merge<'a> {
    /// "If present, then this SHA must match the HEAD of the source branch, otherwise the merge
    /// fails" (docs merge_requests.md, "Merge a merge request").
    pub sha: &'a str,
    pub merge_commit_message: &'a str,
    pub should_remove_source_branch: bool,
    pub squash: bool,
}

/// `POST /projects/:id/statuses/:sha` body.
#[derive(Debug, Serialize)]
pub(super) struct CreateStatus<'a> {
    pub state: &'static str,
    pub name: &'a str,
    pub description: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<&'a str>,
}

/// promoter's state in GitLab's words (docs commits.md, "Set the pipeline status of a commit":
/// `pending`, `running`, `success`, `failed`, `canceled`, `skipped`).
pub(super) fn write_state(state: GateState) -> &'static str {
    match state {
        GateState::Success => "success",
        GateState::Pending => "pending",
        GateState::Failure => "failed",
    }
}

/// docs/design.md §4.1 and GitLab docs doc/api/commits.md "Commit status" for a job, external status or pipeline status:
/// `success` and `skipped` pass; `failed`, `canceled`, `canceling` fail; `manual` (waiting for a
/// person), `created`, `pending`, `running`, `scheduled`, `waiting_for_*`, `preparing` and
/// anything unknown are pending. A `failed` job with `allow_failure: true` does not fail its
/// pipeline (docs ci/yaml `allow_failure`), so it counts as success.
pub(super) fn gitlab_state(status: &str, allow_failure: bool) -> GateState {
    match status {
        "success" | "skipped" => GateState::Success,
        "failed" if allow_failure => GateState::Success,
        "failed" | "canceled" | "canceling" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// The newest status per name (the highest `id`: GitLab ids grow with creation), plus the newest
/// pipeline as a report named [`PIPELINE_REPORT`] unless a status already carries that name.
pub(super) fn reduce(statuses: Vec<CommitStatus>, pipeline: Option<Pipeline>) -> Vec<StatusReport> {
    let mut newest: BTreeMap<String, CommitStatus> = BTreeMap::new();
    for status in statuses {
        match newest.get(&status.name) {
            Some(kept) if kept.id >= status.id => {}
            _ => {
                newest.insert(status.name.clone(), status);
            }
        }
    }
    let mut reports: BTreeMap<String, StatusReport> = newest
        .into_values()
        .map(|status| {
            let allow_failure = status.allow_failure.unwrap_or(false);
            let state = gitlab_state(&status.status, allow_failure);
            let description = match status.description.filter(|d| !d.is_empty()) {
                Some(text) => text,
                None if allow_failure && status.status == "failed" => {
                    "failed (allowed to fail)".to_owned()
                }
                None => status.status.clone(),
            };
            // Ci::CreateCommitStatusService reuses a pending or running status of the same name,
            // ref and user and moves it with `enqueue!` / `run!`; repeating its state raises and
            // the request (its new description included) is rolled back: 400 "Cannot transition
            // status". Such a description stays until the state changes.
            let description_fixed = matches!(status.status.as_str(), "pending" | "running");
            let report = StatusReport {
                name: status.name,
                state,
                description,
                target_url: status.target_url.filter(|u| !u.is_empty()),
                description_fixed,
            };
            (report.name.clone(), report)
        })
        .collect();
    if let Some(pipeline) = pipeline {
        reports
            .entry(PIPELINE_REPORT.to_owned())
            .or_insert_with(|| StatusReport {
                name: PIPELINE_REPORT.to_owned(),
                state: gitlab_state(&pipeline.status, false),
                description: format!("pipeline #{} {}", pipeline.id, pipeline.status),
                target_url: pipeline.web_url.filter(|u| !u.is_empty()),
                description_fixed: false,
            });
    }
    reports.into_values().collect()
}
