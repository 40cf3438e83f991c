//! Bitbucket Data Center REST 1.0 wire shapes and their mapping to domain types: pull requests,
//! their merge check, paged answers and build statuses. What promoter reads and writes, nothing
//! else. No I/O.
//!
//! Shapes from the REST reference, "Pull Requests" and "Builds and Deployments" / "Build-status":
//! <https://developer.atlassian.com/server/bitbucket/rest/v803/api-group-pull-requests/>,
//! <https://developer.atlassian.com/server/bitbucket/rest/v803/api-group-build-status/>, and the
//! paging rules of <https://docs.atlassian.com/bitbucket-server/rest/7.20.0/bitbucket-rest.html>
//! ("Paged APIs").

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::shared::WirePull;
use crate::scm::{MergeOutcome, PullRequest, StatusReport};

/// A paged answer: `values`, `isLastPage`, `nextPageStart` ("Paged APIs": the next request asks
/// `start=nextPageStart`; `isLastPage` ends it).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Page<T> {
    pub values: Vec<T>,
    #[serde(default = "yes")]
    pub is_last_page: bool,
    #[serde(default)]
    pub next_page_start: Option<u64>,
}

fn yes() -> bool {
    true
}

/// `RestPullRequest`: list items, get, create, update and merge answers.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Pull {
    pub id: u64,
    /// The optimistic lock: every change to the PR (text, reviewers, a new commit on its source
    /// branch) increments it, and update and merge must send the version they saw (409
    /// `PullRequestOutOfDateException` otherwise).
    pub version: u64,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `OPEN`, `MERGED`, `DECLINED`.
    pub state: String,
    pub from_ref: Ref,
    pub to_ref: Ref,
    #[serde(default)]
    pub reviewers: Vec<Participant>,
    #[serde(default)]
    pub links: Links,
    /// `properties.mergeCommit` on a merged PR, on servers that send it (absent: the merge commit
    /// is read from git by the caller, and the second-parent check is skipped).
    #[serde(default)]
    pub properties: Option<Properties>,
}

/// `fromRef` / `toRef`: `id` is the full ref (`refs/heads/environment/dev-next`),
/// `latestCommit` the SHA it points at as the PR sees it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Ref {
    pub id: String,
    #[serde(default)]
    pub latest_commit: Option<String>,
    pub repository: RefRepository,
}

#[derive(Debug, Deserialize)]
pub(super) struct RefRepository {
    pub slug: String,
    pub project: RefProject,
}

#[derive(Debug, Deserialize)]
pub(super) struct RefProject {
    pub key: String,
}

#[derive(Debug, Deserialize)]
pub(super) struct Participant {
    pub user: User,
}

#[derive(Debug, Deserialize, Serialize)]
pub(super) struct User {
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
pub(super) struct Links {
    #[serde(rename = "self", default)]
    pub self_: Vec<Href>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Href {
    pub href: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Properties {
    #[serde(default)]
    pub merge_commit: Option<MergeCommit>,
}

#[derive(Debug, Deserialize)]
pub(super) struct MergeCommit {
    pub id: String,
}

const HEADS: &str = "refs/heads/";

/// `refs/heads/{branch}`, the form of `fromRef.id`, `toRef.id` and the `at` filter.
pub(super) fn branch_ref(branch: &BranchName) -> String {
    format!("{HEADS}{branch}")
}

impl Ref {
    /// This end is `branch` of repository `slug` in project `key`. Project keys are upper case
    /// and compared without case; slugs are lower case (Bitbucket derives them from the name).
    pub(super) fn is(&self, branch: &BranchName, key: &str, slug: &str) -> bool {
        self.id == branch_ref(branch)
            && self.repository.project.key.eq_ignore_ascii_case(key)
            && self.repository.slug.eq_ignore_ascii_case(slug)
    }

    fn branch(&self) -> Result<BranchName, String> {
        BranchName::parse(self.id.strip_prefix(HEADS).unwrap_or(&self.id))
    }
}

impl Pull {
    /// Open, from `head` into `base`, both in this repository (a fork's PR has its own
    /// repository in `fromRef`).
    pub(super) fn is_promotion_pr(
        &self,
        key: &str,
        slug: &str,
        head: &BranchName,
        base: &BranchName,
    ) -> bool {
        self.is_open() && self.from_ref.is(head, key, slug) && self.to_ref.is(base, key, slug)
    }

    pub(super) fn is_open(&self) -> bool {
        self.state == "OPEN"
    }

    pub(super) fn is_merged(&self) -> bool {
        self.state == "MERGED"
    }

    /// `fromRef.latestCommit`: the head the PR shows.
    pub(super) fn head_sha(&self) -> Option<&str> {
        self.from_ref.latest_commit.as_deref()
    }

    /// Whether the head is still `sha`.
    pub(super) fn head_is(&self, sha: &Sha) -> bool {
        self.head_sha()
            .is_some_and(|h| h.eq_ignore_ascii_case(sha.as_str()))
    }

    /// What this read says about a merge of `sha` without sending one: merged already, or the
    /// head moved off `sha`; `None` when a merge may be sent.
    pub(super) fn decided(&self, sha: &Sha) -> Option<MergeOutcome> {
        if self.is_merged() {
            return Some(MergeOutcome::Merged {
                merge_sha: self.merge_sha(),
            });
        }
        (!self.head_is(sha)).then_some(MergeOutcome::HeadMoved)
    }

    pub(super) fn merge_sha(&self) -> Option<Sha> {
        let commit = self.properties.as_ref()?.merge_commit.as_ref()?;
        Sha::parse(&commit.id).ok()
    }

    /// The reviewers as the update body must repeat them (`{"user": {"name": …}}`).
    pub(super) fn reviewer_names(&self) -> Vec<String> {
        self.reviewers.iter().map(|r| r.user.name.clone()).collect()
    }
}

impl WirePull for Pull {
    fn number(&self) -> u64 {
        self.id
    }

    fn into_domain(self) -> Result<PullRequest, String> {
        let head_sha = Sha::parse(
            self.head_sha()
                .ok_or("the pull request shows no `fromRef.latestCommit`")?,
        )?;
        Ok(PullRequest {
            number: PrNumber(self.id),
            url: self
                .links
                .self_
                .into_iter()
                .next()
                .map(|l| l.href)
                .unwrap_or_default(),
            title: self.title,
            // Compared with the rendered body by callers; line endings are not a difference.
            body: self.description.unwrap_or_default().replace("\r\n", "\n"),
            head_sha,
            head_branch: self.from_ref.branch()?,
            base_branch: self.to_ref.branch()?,
            // `RestPullRequest` has no labels (REST reference, "Get pull request"), so the hold
            // label cannot be set here (docs/bitbucket-server.md, "Known limits").
            labels: Vec::new(),
        })
    }
}

/// The repository a ref lives in, in request bodies.
#[derive(Debug, Serialize)]
pub(super) struct RefOut<'a> {
    pub id: String,
    pub repository: RepositoryOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct RepositoryOut<'a> {
    pub slug: &'a str,
    pub project: ProjectOut<'a>,
}

#[derive(Debug, Serialize)]
pub(super) struct ProjectOut<'a> {
    pub key: &'a str,
}

/// `POST .../pull-requests` body ("Create pull request": `title`, `description`, `fromRef`,
/// `toRef`, `reviewers`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreatePull<'a> {
    pub title: &'a str,
    pub description: &'a str,
    pub from_ref: RefOut<'a>,
    pub to_ref: RefOut<'a>,
    pub reviewers: Vec<ReviewerOut>,
}

#[derive(Debug, Serialize)]
pub(super) struct ReviewerOut {
    pub user: User,
}

/// `PUT .../pull-requests/{id}` body ("Update pull request metadata"): `version` is required;
/// the reviewers sent replace the PR's, so the ones it has are sent back.
#[derive(Debug, Serialize)]
pub(super) struct UpdatePull<'a> {
    pub version: u64,
    pub title: &'a str,
    pub description: &'a str,
    pub reviewers: Vec<ReviewerOut>,
}

impl ReviewerOut {
    pub(super) fn named(names: Vec<String>) -> Vec<ReviewerOut> {
        names
            .into_iter()
            .map(|name| ReviewerOut {
                user: User { name },
            })
            .collect()
    }
}

/// `POST .../pull-requests/{id}/merge?version={v}` body ("Merge pull request"): `message` is
/// the merge commit's message; `strategyId` `no-ff` is "Merge commit" (promotion history relies
/// on merge commits, docs/design.md §3); `autoSubject: false` uses the message "as-is" instead of
/// prepending Bitbucket's subject (since 5.7: javadoc `PullRequestMergeRequest.Builder.autoSubject`,
/// <https://docs.atlassian.com/bitbucket-server/javadoc/9.3.0/api/com/atlassian/bitbucket/pull/PullRequestMergeRequest.Builder.html>).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct MergePull<'a> {
    pub message: &'a str,
    pub strategy_id: &'static str,
    pub auto_subject: bool,
}

/// `GET .../pull-requests/{id}/merge` ("Test if pull request can be merged"): `canMerge`,
/// `conflicted`, and the `vetoes` (`summaryMessage`, `detailedMessage`) of merge checks that
/// refuse it.
#[derive(Debug, Deserialize)]
pub(super) struct MergeCheck {
    #[serde(default)]
    pub conflicted: bool,
    #[serde(default)]
    pub vetoes: Vec<Veto>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Veto {
    #[serde(default)]
    pub summary_message: String,
    #[serde(default)]
    pub detailed_message: String,
}

impl MergeCheck {
    /// The refusal in words: each veto's summary (and its detail when it says more).
    pub(super) fn reasons(&self) -> String {
        let mut reasons: Vec<String> = self
            .vetoes
            .iter()
            .map(|v| {
                let detail = v.detailed_message.trim();
                if detail.is_empty() || detail == v.summary_message.trim() {
                    v.summary_message.trim().to_owned()
                } else {
                    format!("{}: {detail}", v.summary_message.trim())
                }
            })
            .filter(|r| !r.is_empty())
            .collect();
        if self.conflicted {
            reasons.insert(0, "the pull request has conflicts".to_owned());
        }
        reasons.join("; ")
    }
}

/// A commit (`GET .../commits/{commitId}`, "Get commit"): its parents, first parent first.
#[derive(Debug, Deserialize)]
pub(super) struct Commit {
    #[serde(default)]
    pub parents: Vec<Parent>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Parent {
    pub id: String,
}

/// A build status (`GET /rest/build-status/1.0/commits/{sha}` values).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct BuildStatus {
    pub key: String,
    pub state: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    /// Milliseconds since the epoch: `dateAdded` in the 1.0 answers, `updatedDate` in newer
    /// ones. The newest per key wins.
    #[serde(default)]
    pub date_added: Option<u64>,
    #[serde(default)]
    pub updated_date: Option<u64>,
}

impl BuildStatus {
    fn when(&self) -> u64 {
        self.updated_date.or(self.date_added).unwrap_or(0)
    }
}

/// `POST /rest/build-status/1.0/commits/{sha}` body: `state`, `key` and `url` are required,
/// `name` and `description` are shown in the UI; every field at most 255 characters, `url` 450.
#[derive(Debug, Serialize)]
pub(super) struct CreateBuildStatus<'a> {
    pub state: &'static str,
    pub key: &'a str,
    pub name: &'a str,
    pub url: &'a str,
    pub description: &'a str,
}

/// promoter's state in Bitbucket's words (`INPROGRESS`, `SUCCESSFUL`, `FAILED`).
pub(super) fn write_state(state: GateState) -> &'static str {
    match state {
        GateState::Success => "SUCCESSFUL",
        GateState::Pending => "INPROGRESS",
        GateState::Failure => "FAILED",
    }
}

/// docs/design.md §4.1 for Bitbucket Data Center: `SUCCESSFUL` passes; `FAILED` and `CANCELLED`
/// (7.4 and later) fail; `INPROGRESS`, `UNKNOWN` and anything else are pending.
pub(super) fn gate_state(state: &str) -> GateState {
    match state {
        "SUCCESSFUL" => GateState::Success,
        "FAILED" | "CANCELLED" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// The newest status per key, in key order. Bitbucket replaces a key's status on a new post, so
/// there is one per key; a server that listed two would be read by date.
pub(super) fn reduce(statuses: Vec<BuildStatus>) -> Vec<StatusReport> {
    let mut newest: BTreeMap<String, BuildStatus> = BTreeMap::new();
    for status in statuses {
        match newest.get(&status.key) {
            Some(kept) if kept.when() >= status.when() => {}
            _ => {
                newest.insert(status.key.clone(), status);
            }
        }
    }
    newest
        .into_values()
        .map(|status| StatusReport {
            state: gate_state(&status.state),
            name: status.key,
            description: status.description.unwrap_or_default(),
            target_url: status.url.filter(|u| !u.is_empty()),
            description_fixed: false,
        })
        .collect()
}
