//! What the clients of several providers share above `http.rs`: the request-and-answer handling
//! that is the same on GitHub, GitLab and Gitea/Forgejo once the paths and wire shapes are given
//! (pick the open PR, open one without ever sending the create twice, replace its text, refuse a
//! failing previous-environment status, post a status), the messages that name what was being
//! done, and the issue shape GitHub and Gitea share. Which endpoint, which answer means what, and
//! the vendor docs saying so stay in each provider's folder, at the call.

use anyhow::{Context, bail};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::http::{HttpClient, Method, Retry};
use super::issues::{Issue, normalized_body};
use super::{CreateRefusals, NewPullRequest, ProviderInfo, PullRequest, StatusWrite};
use crate::model::{BranchName, GateState, PREVIOUS_ENVIRONMENT, PrNumber, Sha};

/// A provider's wire pull request (GitLab: merge request) as the shared code needs it.
pub(crate) trait WirePull: DeserializeOwned {
    /// The number people see (GitHub and Gitea `number`, GitLab `iid`).
    fn number(&self) -> u64;
    /// The domain PR, or what is wrong with the wire one.
    fn into_domain(self) -> Result<PullRequest, String>;
}

/// One repository's pull requests through one client, and how messages name them.
pub(crate) struct Pulls<'a> {
    http: &'a HttpClient,
    /// The repository, for messages (`acme/deploy`).
    repo: &'a str,
    /// `pull request`, GitLab `merge request`.
    noun: &'static str,
    /// `#`, GitLab `!`.
    sigil: char,
}

impl<'a> Pulls<'a> {
    /// `provider`'s words for the PRs of `repo` through `http`.
    pub(crate) fn new(provider: &ProviderInfo, http: &'a HttpClient, repo: &'a str) -> Self {
        Self {
            http,
            repo,
            noun: provider.pr_noun,
            sigil: provider.pr_sigil,
        }
    }

    /// `pull request #12`.
    pub(crate) fn name(&self, number: PrNumber) -> String {
        format!("{} {}{}", self.noun, self.sigil, number.0)
    }

    /// What a failed lookup was doing.
    pub(crate) fn find_context(&self, head: &BranchName, base: &BranchName) -> String {
        format!(
            "finding the open {} from `{head}` into `{base}` in {}",
            self.noun, self.repo
        )
    }

    /// What a failed merge was doing.
    pub(crate) fn merge_context(&self, number: PrNumber, head_sha: &Sha) -> String {
        format!(
            "merging {} at {} in {}",
            self.name(number),
            head_sha.short(),
            self.repo
        )
    }

    /// The lowest-numbered of the PRs a lookup kept. Every provider refuses a second open PR for
    /// one head and base, so there is at most one; the lowest number keeps the choice
    /// deterministic anyway.
    pub(crate) fn lowest<P: WirePull>(&self, found: Vec<P>) -> anyhow::Result<Option<PullRequest>> {
        let Some(pull) = found.into_iter().min_by_key(WirePull::number) else {
            return Ok(None);
        };
        let number = PrNumber(pull.number());
        let pr = pull
            .into_domain()
            .map_err(|e| anyhow::anyhow!("{} has an unexpected shape: {e}", self.name(number)))?;
        Ok(Some(pr))
    }

    /// Opens a PR with one `POST path` that is never resent blindly; a refusal or no answer goes
    /// to [`CreateRefusals::adopt_existing`], which looks the PR up with `find` instead of
    /// sending the create twice.
    pub(crate) fn create<P: WirePull>(
        &self,
        path: &str,
        body: &impl Serialize,
        new: &NewPullRequest,
        refusals: CreateRefusals,
        find: impl FnOnce() -> anyhow::Result<Option<PullRequest>>,
    ) -> anyhow::Result<PullRequest> {
        let context = || {
            format!(
                "opening a {} from `{}` into `{}` in {}",
                self.noun, new.head, new.base, self.repo
            )
        };
        match self
            .http
            .send_json::<P>(Method::Post, path, body, Retry::NotBlindly)
        {
            Ok(pull) => pull
                .into_domain()
                .map_err(anyhow::Error::msg)
                .with_context(context),
            Err(error) => refusals.adopt_existing(error, new, find, &context),
        }
    }

    /// Replaces PR `number`'s title and description with `body` sent by `method` to `path`. The
    /// same text twice leaves the same PR on every provider, so it may be resent.
    pub(crate) fn update<P: WirePull>(
        &self,
        method: Method,
        path: &str,
        body: &impl Serialize,
        number: PrNumber,
    ) -> anyhow::Result<PullRequest> {
        let pull: P = self
            .http
            .send_json(method, path, body, Retry::Idempotent)
            .with_context(|| format!("updating {} in {}", self.name(number), self.repo))?;
        pull.into_domain()
            .map_err(anyhow::Error::msg)
            .with_context(|| format!("reading the updated {}", self.name(number)))
    }

    /// What a failed status write was doing.
    pub(crate) fn status_context(&self, sha: &Sha, status: &StatusWrite) -> String {
        format!(
            "writing commit status `{}` ({}) on {} in {}",
            status.context,
            status.state.as_str(),
            sha.short(),
            self.repo
        )
    }

    /// Posts a commit status to `path`, answered with a `W`. Only for SCMs where the newest
    /// status per context wins, so a repeated write changes nothing a reader sees and may be
    /// resent (GitHub, Gitea).
    pub(crate) fn post_status<W: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        sha: &Sha,
        status: &StatusWrite,
    ) -> anyhow::Result<()> {
        let _: W = self
            .http
            .send_json(Method::Post, path, body, Retry::Idempotent)
            .with_context(|| self.status_context(sha, status))?;
        Ok(())
    }
}

/// A pull request's head or base as GitHub (`pull-request.head`/`.base`, docs pulls/list) and
/// Gitea/Forgejo (swagger `PRBranchInfo`) show it.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct PullEnd {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
    /// `null` when the head repository (a fork) was deleted.
    pub repo: Option<PullRepo>,
}

#[derive(Debug, serde::Deserialize)]
pub(crate) struct PullRepo {
    pub full_name: String,
}

impl PullEnd {
    /// This end is `branch` of `full_name`. A fork's PR from a branch of the same name has the
    /// fork as its head repository. Names compare case-insensitively, as GitHub and Gitea
    /// (`lower_name` columns) treat them.
    pub(super) fn is(&self, branch: &BranchName, full_name: &str) -> bool {
        self.name == branch.as_str()
            && self
                .repo
                .as_ref()
                .is_some_and(|repo| repo.full_name.eq_ignore_ascii_case(full_name))
    }
}

/// The fields GitHub (`pull-request-simple`, `pull-request`) and Gitea/Forgejo (swagger
/// `PullRequest`) show alike for a pull request; each provider's wire `Pull` flattens it in and
/// adds what differs (merge state).
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HtmlPull {
    pub number: u64,
    pub html_url: String,
    pub title: String,
    pub body: Option<String>,
    pub head: PullEnd,
    pub base: PullEnd,
    /// Label objects; promoter reads their names (the hold label, docs/gates.md). GitHub: docs
    /// pulls/list, `labels[].name` (<https://docs.github.com/en/rest/pulls/pulls#list-pull-requests>);
    /// Gitea/Forgejo: swagger `PullRequest.labels` `[]Label`
    /// (<https://gitea.com/api/swagger#/repository/repoListPullRequests>).
    #[serde(default)]
    pub labels: Vec<LabelName>,
}

/// A label object, of which promoter reads the name.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct LabelName {
    pub name: String,
}

impl HtmlPull {
    /// Head and base are these branches and both live in `full_name`: never a fork's PR.
    pub(super) fn is_between(&self, full_name: &str, head: &BranchName, base: &BranchName) -> bool {
        self.head.is(head, full_name) && self.base.is(base, full_name)
    }

    pub(super) fn into_domain(self) -> Result<PullRequest, String> {
        Ok(PullRequest {
            number: PrNumber(self.number),
            url: self.html_url,
            title: self.title,
            // Compared with the rendered body by callers; line endings are not a difference.
            body: self.body.unwrap_or_default().replace("\r\n", "\n"),
            head_sha: Sha::parse(&self.head.sha)?,
            head_branch: BranchName::parse(&self.head.name)?,
            base_branch: BranchName::parse(&self.base.name)?,
            labels: self.labels.into_iter().map(|label| label.name).collect(),
        })
    }
}

/// docs/design.md §3: the previous-environment gate is never `failure` (it would block a PR for
/// good). Every provider's `write_status` starts with this.
pub(crate) fn refuse_failing_previous(status: &StatusWrite) -> anyhow::Result<()> {
    if status.state == GateState::Failure && status.context == PREVIOUS_ENVIRONMENT {
        bail!("promoter never writes `failure` for {PREVIOUS_ENVIRONMENT}");
    }
    Ok(())
}

/// The issue shape GitHub (docs rest/issues/issues) and Gitea/Forgejo (swagger `Issue`) share:
/// list items, create and update answers.
#[derive(Debug, serde::Deserialize)]
pub(crate) struct HtmlIssue {
    number: u64,
    html_url: String,
    title: String,
    body: Option<String>,
    /// Set (an object) on pull requests only. GitHub docs issues/list-repository-issues: "GitHub's
    /// REST API considers every pull request an issue … identify pull requests by the
    /// `pull_request` key"; Gitea swagger `Issue.pull_request` (`PullRequestMeta`), returned unless
    /// `type=issues` is asked, checked again in case a server ignores the filter.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

impl HtmlIssue {
    pub(super) fn is_pull_request(&self) -> bool {
        self.pull_request.is_some()
    }

    pub(super) fn into_domain(self) -> Issue {
        Issue {
            number: self.number,
            url: self.html_url,
            title: self.title,
            body: normalized_body(self.body),
        }
    }
}

/// `title` and `body`: the request body of GitHub's pulls/update, issues/create and
/// issues/update, and of Gitea's `EditPullRequestOption`, `CreateIssueOption` and
/// `EditIssueOption` (fields left out stay as they are).
#[derive(Debug, Serialize)]
pub(crate) struct TitleBody<'a> {
    pub title: &'a str,
    pub body: &'a str,
}

/// A same-repository pull request to open: GitHub pulls/create and Gitea
/// `CreatePullRequestOption`, where `head` is the plain branch name.
#[derive(Debug, Serialize)]
pub(crate) struct CreateHtmlPull<'a> {
    pub title: &'a str,
    pub body: &'a str,
    pub head: &'a str,
    pub base: &'a str,
}

/// Opens an issue at `{repo_path}/issues` the way GitHub (docs issues/create, 201) and Gitea
/// (swagger issueCreateIssue, 201) both do; never resent blindly.
pub(crate) fn create_html_issue(
    http: &HttpClient,
    repo_path: &str,
    text: TitleBody<'_>,
    doing: impl FnOnce() -> String,
) -> anyhow::Result<Issue> {
    let path = format!("{repo_path}/issues");
    send_issue(
        http,
        Method::Post,
        &path,
        &text,
        HtmlIssue::into_domain,
        doing,
    )
}

/// Replaces issue `number`'s title and body with a `PATCH {repo_path}/issues/{number}` the way
/// GitHub (docs issues/update) and Gitea (swagger issueEditIssue, answered 201) both take it: the
/// fields given are set, so twice is once.
pub(crate) fn update_html_issue(
    http: &HttpClient,
    repo_path: &str,
    number: u64,
    text: TitleBody<'_>,
    doing: impl FnOnce() -> String,
) -> anyhow::Result<Issue> {
    let path = format!("{repo_path}/issues/{number}");
    send_issue(
        http,
        Method::Patch,
        &path,
        &text,
        HtmlIssue::into_domain,
        doing,
    )
}

/// Sends an issue create (`Method::Post`, never resent blindly) or update (idempotent) and reads
/// the answer as an [`Issue`]; `doing` names the operation for the error.
pub(crate) fn send_issue<W: DeserializeOwned>(
    http: &HttpClient,
    method: Method,
    path: &str,
    body: &impl Serialize,
    into_domain: impl FnOnce(W) -> Issue,
    doing: impl FnOnce() -> String,
) -> anyhow::Result<Issue> {
    // A create that may have happened is never sent twice: the dashboard lists the issues again
    // instead (`issues::is_ambiguous`). The same update twice is one change.
    let retry = match method {
        Method::Post => Retry::NotBlindly,
        _ => Retry::Idempotent,
    };
    let issue: W = http
        .send_json(method, path, body, retry)
        .with_context(doing)?;
    Ok(into_domain(issue))
}
