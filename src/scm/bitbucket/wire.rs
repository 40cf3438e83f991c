//! Bitbucket Cloud REST 2.0 wire shapes (<https://developer.atlassian.com/cloud/bitbucket/rest/>:
//! `paginated_pullrequests`, `pullrequest`, `commit`, `commitstatus`,
//! `pullrequest_merge_parameters`, `issue`) and their mapping to domain types. What promoter reads
//! and writes, and nothing else. No I/O.

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::StatusReport;

/// The paged envelope every list answers with: `values`, and `next` (a full URL) while more pages
/// follow (<https://developer.atlassian.com/cloud/bitbucket/rest/intro/#pagination>: "the next
/// link … should be used rather than constructing the URL").
#[derive(Debug, Deserialize)]
pub(super) struct Page<T> {
    #[serde(default = "Vec::new")]
    pub values: Vec<T>,
    pub next: Option<String>,
}

/// `{"href": "…"}` inside `links`.
#[derive(Debug, Deserialize)]
pub(super) struct Href {
    pub href: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct PullLinks {
    /// The page a person opens (`https://bitbucket.org/{ws}/{slug}/pull-requests/{id}`).
    pub html: Href,
}

#[derive(Debug, Deserialize)]
pub(super) struct BranchRef {
    pub name: String,
}

/// `{"hash": "…"}`: pull request ends and `merge_commit` carry 12-character short hashes (fixture
/// `pullrequest.go-scm.json`), commits read by `GET /commit/{hash}` the full 40.
#[derive(Debug, Deserialize)]
pub(super) struct CommitRef {
    pub hash: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct RepositoryRef {
    pub full_name: String,
}

/// `pullrequest_endpoint`: the source or destination of a pull request.
#[derive(Debug, Deserialize)]
pub(super) struct PullEnd {
    pub branch: BranchRef,
    /// `null` when the branch is gone.
    pub commit: Option<CommitRef>,
    /// `null` when the fork behind a source was deleted.
    pub repository: Option<RepositoryRef>,
}

impl PullEnd {
    /// This end is `branch` of `full_name` (compared case-insensitively: workspace and repository
    /// slugs are lowercase in URLs, `full_name` may show them as created).
    pub(super) fn is(&self, branch: &BranchName, full_name: &str) -> bool {
        self.branch.name == branch.as_str()
            && self
                .repository
                .as_ref()
                .is_some_and(|repo| repo.full_name.eq_ignore_ascii_case(full_name))
    }

    /// The commit hash as shown (often 12 characters).
    pub(super) fn hash(&self) -> Option<&str> {
        self.commit.as_ref().map(|c| c.hash.as_str())
    }
}

/// `pullrequest` (list items, get, create, update and merge answers).
#[derive(Debug, Deserialize)]
pub(super) struct Pull {
    pub id: u64,
    pub title: String,
    /// Markdown; `""` or absent when empty.
    #[serde(default)]
    pub description: Option<String>,
    /// `OPEN`, `MERGED`, `DECLINED`, `SUPERSEDED`.
    pub state: String,
    pub source: PullEnd,
    pub destination: PullEnd,
    pub links: PullLinks,
    /// Set once merged (short hash).
    #[serde(default)]
    pub merge_commit: Option<CommitRef>,
}

impl Pull {
    /// Open, from `head` into `base`, both in `full_name` (never a fork's PR).
    pub(super) fn is_promotion_pr(
        &self,
        full_name: &str,
        head: &BranchName,
        base: &BranchName,
    ) -> bool {
        self.is_open() && self.source.is(head, full_name) && self.destination.is(base, full_name)
    }

    pub(super) fn is_open(&self) -> bool {
        self.state == "OPEN"
    }

    pub(super) fn is_merged(&self) -> bool {
        self.state == "MERGED"
    }
}

/// The domain PR once the source hash is resolved to a full SHA.
pub(super) fn into_domain(pull: Pull, head_sha: Sha) -> Result<crate::scm::PullRequest, String> {
    Ok(crate::scm::PullRequest {
        number: PrNumber(pull.id),
        url: pull.links.html.href,
        title: pull.title,
        // Compared with the rendered body by callers; line endings are not a difference.
        body: pull.description.unwrap_or_default().replace("\r\n", "\n"),
        head_sha,
        head_branch: BranchName::parse(&pull.source.branch.name)?,
        base_branch: BranchName::parse(&pull.destination.branch.name)?,
        // Bitbucket Cloud pull requests have no labels (the `pullrequest` schema has none:
        // https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/), so the
        // hold label cannot be set there (docs/bitbucket.md, "Known limits").
        labels: Vec::new(),
    })
}

/// Whether `shown` (a hash as the API shows it, maybe 12 characters) names `full`: a prefix of at
/// least 7 hex digits, compared case-insensitively.
pub(super) fn names(shown: &str, full: &Sha) -> bool {
    shown.len() >= 7
        && shown.len() <= full.as_str().len()
        && full.as_str()[..shown.len()].eq_ignore_ascii_case(shown)
}

/// `commit` from `GET /repositories/{ws}/{slug}/commit/{commit}`: the full hash and the parents
/// (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commits/#api-repositories-workspace-repo-slug-commit-commit-get>).
#[derive(Debug, Deserialize)]
pub(super) struct Commit {
    pub hash: String,
    #[serde(default)]
    pub parents: Vec<CommitRef>,
}

/// `{"type":"branch"}` shapes in a create body.
#[derive(Debug, Serialize)]
pub(super) struct BranchOnly<'a> {
    pub branch: Named<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct Named<'a> {
    pub name: &'a str,
}

/// The create body (`pullrequest`): a same-repository PR names only the branches
/// (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/#api-repositories-workspace-repo-slug-pullrequests-post>).
#[derive(Debug, Serialize)]
pub(super) struct CreatePull<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub source: BranchOnly<'a>,
    pub destination: BranchOnly<'a>,
    /// The staging branch is promoter's, and the next promotion reuses it.
    pub close_source_branch: bool,
}

impl<'a> CreatePull<'a> {
    pub(super) fn new(head: &'a str, base: &'a str, title: &'a str, description: &'a str) -> Self {
        Self {
            title,
            description,
            source: BranchOnly {
                branch: Named { name: head },
            },
            destination: BranchOnly {
                branch: Named { name: base },
            },
            close_source_branch: false,
        }
    }
}

/// The update body: `PUT` needs `title` even when unchanged (400 "title: This field is
/// required.", fixture `pullrequest-update-400-title-required.observed.json`).
#[derive(Debug, Serialize)]
pub(super) struct UpdatePull<'a> {
    pub title: &'a str,
    pub description: &'a str,
}

/// `pullrequest_merge_parameters`
/// (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/#api-repositories-workspace-repo-slug-pullrequests-pull-request-id-merge-post>).
/// There is no expected-head field: the client guards the head itself (see `merge` in mod.rs).
#[derive(Debug, Serialize)]
pub(super) struct MergePull<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The whole merge commit message (title, blank line, body).
    pub message: &'a str,
    /// Promotion history relies on merge commits (trailers, docs/design.md §3).
    pub merge_strategy: &'static str,
    pub close_source_branch: bool,
}

impl<'a> MergePull<'a> {
    pub(super) fn merge_commit(message: &'a str) -> Self {
        Self {
            kind: "pullrequest_merge_parameters",
            message,
            merge_strategy: "merge_commit",
            close_source_branch: false,
        }
    }
}

/// The task a merge answered 202 polls: `GET …/merge/task-status/{task_id}` →
/// `{"task_status": "PENDING"|"SUCCESS", "merge_result": pullrequest}`.
#[derive(Debug, Deserialize)]
pub(super) struct MergeTask {
    pub task_status: String,
    #[serde(default)]
    pub merge_result: Option<Pull>,
}

/// `commitstatus` as listed by `GET /commit/{commit}/statuses`
/// (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-commit-statuses/>). A key
/// holds one status per commit (a new post overwrites it).
#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    pub key: String,
    /// `INPROGRESS`, `SUCCESSFUL`, `FAILED`, `STOPPED`.
    pub state: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// RFC 3339; the newest wins if a server ever lists a key twice.
    #[serde(default)]
    pub updated_on: Option<String>,
}

/// The body of `POST /commit/{commit}/statuses/build`: `key`, `state` and `url` are required.
#[derive(Debug, Serialize)]
pub(super) struct CreateStatus<'a> {
    pub key: &'a str,
    pub state: &'static str,
    /// Shown as the status title in the UI; promoter's is its key.
    pub name: &'a str,
    pub description: &'a str,
    pub url: &'a str,
}

/// promoter's state → Bitbucket's (docs/design.md §4.2).
pub(super) fn write_state(state: GateState) -> &'static str {
    match state {
        GateState::Success => "SUCCESSFUL",
        GateState::Failure => "FAILED",
        GateState::Pending => "INPROGRESS",
    }
}

/// docs/design.md §4.1 for Bitbucket: `SUCCESSFUL` → success; `FAILED`, `STOPPED` (someone stopped
/// the build) → failure; `INPROGRESS` and anything unknown → pending.
pub(super) fn status_state(state: &str) -> GateState {
    match state {
        "SUCCESSFUL" => GateState::Success,
        "FAILED" | "STOPPED" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// One report per key (the newest `updated_on` if a key shows twice), in key order.
pub(super) fn reduce(statuses: Vec<CommitStatus>) -> Vec<StatusReport> {
    let mut newest: std::collections::BTreeMap<String, CommitStatus> = Default::default();
    for status in statuses {
        match newest.get(&status.key) {
            Some(kept) if kept.updated_on >= status.updated_on => {}
            _ => {
                newest.insert(status.key.clone(), status);
            }
        }
    }
    newest
        .into_values()
        .map(|status| StatusReport {
            state: status_state(&status.state),
            name: status.key,
            description: status.description.unwrap_or_default(),
            target_url: status.url.filter(|u| !u.is_empty()),
            description_fixed: false,
        })
        .collect()
}

/// `issue` (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-issue-tracker/>):
/// the text is `content.raw`.
#[derive(Debug, Deserialize)]
pub(super) struct Issue {
    pub id: u64,
    pub title: String,
    #[serde(default)]
    pub content: Option<Content>,
    pub links: PullLinks,
}

#[derive(Debug, Deserialize, Serialize)]
pub(super) struct Content {
    #[serde(default)]
    pub raw: Option<String>,
}

impl Issue {
    pub(super) fn into_domain(self) -> crate::scm::Issue {
        crate::scm::Issue {
            number: self.id,
            url: self.links.html.href,
            title: self.title,
            body: crate::scm::issues::normalized_body(self.content.and_then(|c| c.raw)),
        }
    }
}

/// The body of an issue create or update: `title` and `content.raw`.
#[derive(Debug, Serialize)]
pub(super) struct IssueText<'a> {
    pub title: &'a str,
    pub content: RawText<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct RawText<'a> {
    pub raw: &'a str,
}
