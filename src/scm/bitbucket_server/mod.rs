//! Bitbucket Data Center (formerly Bitbucket Server; REST 1.0) behind the [`Scm`] trait: which
//! endpoints, which answers mean what, and the re-reads after ambiguous or refused writes. Wire
//! shapes are in `wire.rs`; sending, retrying and waiting are in `http.rs`.
//!
//! `scm.apiUrl` is the instance's base URL (`https://bitbucket.acme.com`, with its context path
//! if it has one), not `/rest/api/1.0`: the pull requests live under `/rest/api/1.0` and the build
//! statuses under `/rest/build-status/1.0`, so the client builds both from the base, and the web
//! address is the same URL. `repository.owner` is the project key, `name` the repository slug.
//!
//! Requests per operation (for request budgets):
//! - find: `GET /rest/api/1.0/projects/{key}/repos/{slug}/pull-requests?state=OPEN&direction=INCOMING&at=refs/heads/{base}&limit=100`
//!   (every page: `start=nextPageStart` until `isLastPage`)
//! - create: `POST .../pull-requests` (+ the find after a 409 or an ambiguous failure)
//! - update: `PUT .../pull-requests/{id}` with the `version` the find or create answer showed (+
//!   `GET .../pull-requests/{id}` first when this client has not seen the PR, and again once after
//!   a 409 for a stale version)
//! - merge: `GET .../pull-requests/{id}` (the head check and the version), then
//!   `POST .../pull-requests/{id}/merge?version={v}`, then `GET .../commits/{merge commit}` (the
//!   second-parent check) — two requests more than the providers whose merge carries the head
//!   SHA (+ `GET .../pull-requests/{id}/merge` for the veto reasons after a refusal)
//! - gate read: `GET /rest/build-status/1.0/commits/{sha}?limit=100` (every page)
//! - status write: `POST /rest/build-status/1.0/commits/{sha}`
//!
//! Decisions where docs/design.md is silent:
//! - The merge guard is the PR `version` plus a head check (docs/design.md §7.2, 3): the merge
//!   request cannot name a SHA, so the PR is read immediately before merging; if
//!   `fromRef.latestCommit` is not the SHA whose gates were read the answer is `HeadMoved` and
//!   nothing is sent. The merge then carries that read's `version`, and Bitbucket refuses it
//!   (409, out of date) if the PR changed in between — a push to the staging branch changes the
//!   version — so the gap between check and merge is closed by the server. Bitbucket updates
//!   the PR after a push asynchronously (a "rescope"), so after the merge the merge commit
//!   (`properties.mergeCommit`) is read and its second parent must be the gated SHA; a mismatch
//!   is an error that says so loudly (docs/design.md §7.2). A server that names no merge
//!   commit (before 5.x) is not checked.
//! - Build statuses use the commit-wide resource `/rest/build-status/1.0/commits/{sha}` (every
//!   version since Bitbucket Server 4; deprecated but present in 8.x and 9.x) rather than the
//!   per-repository `/rest/api/latest/.../commits/{sha}/builds` (7.4 and later), because only the
//!   former lists every key of a commit in one request; the latter reads one key per request.
//! - Bitbucket Data Center has no issue tracker (Jira is separate): the dashboard issue is not
//!   available, and its operations say so.

mod issues;
mod merge;
mod wire;

use std::collections::HashMap;
use std::sync::Mutex;

use anyhow::Context;
use serde::de::DeserializeOwned;

use super::http::{Auth, HintFn, HttpClient, HttpError, HttpOptions, Method, Retry, StatusHints};
use super::registry::{ApiUrls, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls};
use super::shared::{Pulls, refuse_failing_previous};
use super::{
    CreateRefusals, MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport,
    StatusWrite, encode,
};
use crate::model::{BranchName, PrNumber, Secret, Sha};

/// PR title and description limits. The REST reference states no limit for pull requests; 255
/// characters is the width Bitbucket gives its other short texts (build-status fields "are limited
/// to 255 characters", REST reference "Build-status") and is assumed for titles (unverified).
/// Descriptions are cut at 32,768 characters, promoter's own bound, so a runaway commit body never
/// meets a server's request size limit.
pub(crate) const TEXT_LIMITS: super::TextLimits = super::TextLimits {
    title: 255,
    body: 32_768,
};

/// Items asked for per page. "Paged APIs": the server caps `limit` (`page.max.size`, 1000 by
/// default) and the answer's `isLastPage` / `nextPageStart`, not the count, decide paging.
const PAGE_SIZE: usize = 100;
/// Pages followed at most for one listing.
const MAX_PAGES: usize = 50;

/// What Bitbucket Data Center is to the rest of promoter (docs/design.md §7).
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    name: "bitbucket-server",
    product: "Bitbucket Data Center",
    default_token_env: "BITBUCKET_SERVER_TOKEN",
    // Empty: git sends the token as `Authorization: Bearer`. "In Git and API calls, you can use
    // the project and repository level token only with Bearer authentication", and a personal
    // token over basic auth needs its owner's user name, which promoter does not know
    // (https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html).
    git_username: "",
    pr_noun: "pull request",
    pr_sigil: '#',
    text_limits: TEXT_LIMITS,
    // The merge request carries the PR `version`, not a SHA: `merge` checks the head itself
    // (module doc).
    merge_guarded_by_head_sha: false,
    pr_labels: false,
    issues: false,
    api: ApiUrls {
        // Every instance is self-hosted: `apiUrl` (the base URL) is required.
        default_url: None,
        suffix: "",
        public_host: None,
    },
    // Jenkins and Bamboo name no repository variable in a form promoter can split reliably:
    // `repository` is written in promotion.yaml.
    ci: CiVariables {
        name: "Jenkins or Bamboo",
        api_url: None,
        server_url: None,
        repository: None,
    },
    owner: OwnerShape::One,
    web: WebUrls {
        repository: repository_url,
        clone: clone_url,
        commit: commit_url,
        compare: compare_url,
    },
    connect,
};

/// `{web}/projects/{KEY}/repos/{slug}`: the repository's page.
fn repository_url(web_base: &str, path: &RepoPath) -> String {
    format!("{web_base}/projects/{}/repos/{}", path.owner(), path.name())
}

/// `{web}/scm/{key}/{slug}.git`: "Clone a repository" in the Bitbucket Data Center docs
/// (https://confluence.atlassian.com/bitbucketserver/clone-a-repository-790632786.html); the
/// project key is case-insensitive there.
fn clone_url(web_base: &str, path: &RepoPath) -> String {
    format!(
        "{web_base}/scm/{}/{}.git",
        path.owner().to_ascii_lowercase(),
        path.name()
    )
}

fn commit_url(repository_page: &str, sha: &Sha) -> String {
    format!("{repository_page}/commits/{sha}")
}

/// The compare page, commits of `to` not in `from`.
fn compare_url(repository_page: &str, from: &Sha, to: &Sha) -> String {
    format!("{repository_page}/compare/commits?sourceBranch={to}&targetBranch={from}")
}

fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    Ok(Box::new(BitbucketServer::new(
        connect.api_url,
        connect.repository,
        connect.token,
        connect.http,
    )?))
}

/// What this client last saw of a PR, for the update body: its version and reviewers.
#[derive(Debug, Clone)]
struct Seen {
    version: u64,
    reviewers: Vec<String>,
}

/// A Bitbucket Data Center repository seen through one token.
#[derive(Debug)]
pub(crate) struct BitbucketServer {
    http: HttpClient,
    /// The instance's base URL, for the pages build statuses link to.
    web: String,
    key: String,
    slug: String,
    /// `KEY/slug`, for messages.
    full_name: String,
    /// Version and reviewers per PR id from the last answer that showed them.
    seen: Mutex<HashMap<u64, Seen>>,
}

impl BitbucketServer {
    /// `api_url`: the instance's base URL, `https://HOST[/context]`.
    pub(crate) fn new(
        api_url: &str,
        repo: &RepoPath,
        token: Option<Secret>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let full_name = repo.full_name();
        let hint = hints(
            api_url,
            &full_name,
            token.is_some(),
            options.token_source.clone(),
        );
        // HTTP access tokens: "pass the token as a bearer token in the Authorization header"
        // (https://confluence.atlassian.com/bitbucketserver/http-access-tokens-939515499.html).
        let http = HttpClient::new(api_url, token.map(Auth::bearer), options)
            .with_context(|| format!("setting up the Bitbucket Data Center client for {api_url}"))?
            .with_header("accept", "application/json")
            .with_hint(hint);
        Ok(Self {
            http,
            web: api_url.trim_end_matches('/').to_owned(),
            key: repo.owner(),
            slug: repo.name().to_owned(),
            full_name,
            seen: Mutex::new(HashMap::new()),
        })
    }

    /// `/rest/api/1.0/projects/{key}/repos/{slug}`.
    fn repo_path(&self) -> String {
        format!(
            "/rest/api/1.0/projects/{}/repos/{}",
            encode(&self.key),
            encode(&self.slug)
        )
    }

    fn pr_path(&self, number: PrNumber) -> String {
        format!("{}/pull-requests/{}", self.repo_path(), number.0)
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&PROVIDER, &self.http, &self.full_name)
    }

    fn remember(&self, pull: &wire::Pull) {
        let seen = Seen {
            version: pull.version,
            reviewers: pull.reviewer_names(),
        };
        self.seen
            .lock()
            .expect("no panic while holding the lock")
            .insert(pull.id, seen);
    }

    fn seen(&self, number: PrNumber) -> Option<Seen> {
        self.seen
            .lock()
            .expect("no panic while holding the lock")
            .get(&number.0)
            .cloned()
    }

    /// `GET .../pull-requests/{id}` ("Get pull request"), remembered.
    fn get_pull(&self, number: PrNumber) -> Result<wire::Pull, HttpError> {
        let pull: wire::Pull = self.http.get_json(&self.pr_path(number))?;
        self.remember(&pull);
        Ok(pull)
    }

    /// Every page of a paged resource ("Paged APIs": `start`, `limit`; the answer's
    /// `isLastPage` and `nextPageStart`).
    fn get_paged<T: DeserializeOwned>(
        &self,
        path: &str,
        mut each: impl FnMut(Vec<T>),
    ) -> anyhow::Result<()> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut start = 0u64;
        for _ in 0..MAX_PAGES {
            let page: wire::Page<T> = self
                .http
                .get_json(&format!("{path}{separator}limit={PAGE_SIZE}&start={start}"))?;
            each(page.values);
            match page.next_page_start {
                Some(next) if !page.is_last_page && next > start => start = next,
                _ => return Ok(()),
            }
        }
        anyhow::bail!("more than {MAX_PAGES} pages")
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        // "Get pull requests for repository": `at` with `direction=INCOMING` filters on the
        // target branch; the source branch has no filter, so `fromRef` is checked here, with
        // its repository (a fork's PR comes from another repository).
        let path = format!(
            "{}/pull-requests?state=OPEN&direction=INCOMING&at={}",
            self.repo_path(),
            encode(&wire::branch_ref(base)),
        );
        let mut found: Vec<wire::Pull> = Vec::new();
        self.get_paged(&path, |page: Vec<wire::Pull>| {
            found.extend(
                page.into_iter()
                    .filter(|p| p.is_promotion_pr(&self.key, &self.slug, head, base)),
            );
        })?;
        for pull in &found {
            self.remember(pull);
        }
        // Bitbucket refuses a second open PR for one source and target (409
        // DuplicatePullRequestException).
        self.pulls().lowest(found)
    }

    fn ref_out(&self, branch: &BranchName) -> wire::RefOut<'_> {
        wire::RefOut {
            id: wire::branch_ref(branch),
            repository: wire::RepositoryOut {
                slug: &self.slug,
                project: wire::ProjectOut { key: &self.key },
            },
        }
    }

    /// `PUT .../pull-requests/{id}` with `seen`'s version and reviewers.
    fn put_update(
        &self,
        number: PrNumber,
        seen: Seen,
        title: &str,
        body: &str,
    ) -> Result<wire::Pull, HttpError> {
        let update = wire::UpdatePull {
            version: seen.version,
            title,
            description: body,
            reviewers: wire::ReviewerOut::named(seen.reviewers),
        };
        // Resending the same version twice: the second is refused as out of date (409) and
        // handled like any stale version, so the request counts as idempotent.
        let pull: wire::Pull = self.http.send_json(
            Method::Put,
            &self.pr_path(number),
            &update,
            Retry::Idempotent,
        )?;
        self.remember(&pull);
        Ok(pull)
    }
}

impl Scm for BitbucketServer {
    fn find_open_pull_request(
        &self,
        head: &BranchName,
        base: &BranchName,
    ) -> anyhow::Result<Option<PullRequest>> {
        self.find(head, base)
            .with_context(|| self.pulls().find_context(head, base))
    }

    fn find_open_pull_requests(
        &self,
        pairs: &[(BranchName, BranchName)],
    ) -> Vec<anyhow::Result<Option<PullRequest>>> {
        // "Get pull requests for repository" without `at`: every open PR of the repository, paged
        // (docs/performance.md, "Batched reads"); each pair is picked with `find`'s checks.
        let path = format!("{}/pull-requests?state=OPEN", self.repo_path());
        let mut listed: Vec<wire::Pull> = Vec::new();
        if let Err(error) = self.get_paged(&path, |page: Vec<wire::Pull>| listed.extend(page)) {
            return super::shared_failure(
                error.context(format!(
                    "listing the open pull requests of {}",
                    self.full_name
                )),
                pairs.len(),
            );
        }
        let is_pair = |p: &wire::Pull, head: &BranchName, base: &BranchName| {
            p.is_promotion_pr(&self.key, &self.slug, head, base)
        };
        for pull in &listed {
            if pairs.iter().any(|(head, base)| is_pair(pull, head, base)) {
                self.remember(pull);
            }
        }
        super::pick_pairs(&self.pulls(), listed, pairs, is_pair)
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest> {
        let body = wire::CreatePull {
            title: &new.title,
            description: &new.body,
            from_ref: self.ref_out(&new.head),
            to_ref: self.ref_out(&new.base),
            reviewers: Vec::new(),
        };
        let path = format!("{}/pull-requests", self.repo_path());
        let context = || {
            format!(
                "opening a pull request from `{}` into `{}` in {}",
                new.head, new.base, self.full_name
            )
        };
        // "Create pull request": 201 with the PR. Never resent blindly.
        let error =
            match self
                .http
                .send_json::<wire::Pull>(Method::Post, &path, &body, Retry::NotBlindly)
            {
                Ok(pull) => {
                    self.remember(&pull);
                    return WirePullExt::domain(pull).with_context(context);
                }
                Err(error) => error,
            };
        // 409 DuplicatePullRequestException "Only one pull request may be open for a given
        // source and target branch": adopt that one.
        if error.status() == Some(409)
            && error
                .message()
                .is_some_and(|m| m.contains("Only one pull request may be open"))
            && let Some(pr) = self.find(&new.head, &new.base).with_context(context)?
        {
            return Ok(pr);
        }
        // 409 EmptyPullRequestException: the source "is already up-to-date with" the target.
        let refusals = CreateRefusals::new(409, |status, message| {
            status == 409 && message.contains("already up-to-date")
        });
        refusals.adopt_existing(error, new, || self.find(&new.head, &new.base), &context)
    }

    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest> {
        let context = || {
            format!(
                "updating {} in {}",
                self.pulls().name(number),
                self.full_name
            )
        };
        let seen = match self.seen(number) {
            Some(seen) => seen,
            None => {
                let pull = self.get_pull(number).with_context(context)?;
                Seen {
                    version: pull.version,
                    reviewers: pull.reviewer_names(),
                }
            }
        };
        let pull = match self.put_update(number, seen, title, body) {
            Ok(pull) => pull,
            // Someone changed the PR since it was read (a push to the staging branch, a
            // reviewer): read it again and retry once with its version.
            Err(error) if merge::is_stale(&error) => {
                let pull = self.get_pull(number).with_context(context)?;
                let seen = Seen {
                    version: pull.version,
                    reviewers: pull.reviewer_names(),
                };
                self.put_update(number, seen, title, body)
                    .with_context(context)?
            }
            Err(error) => return Err(anyhow::Error::new(error)).with_context(context),
        };
        WirePullExt::domain(pull)
            .with_context(|| format!("reading the updated {}", self.pulls().name(number)))
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        self.merge(number, head_sha, title, message)
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        // "Get build statuses for a commit" (build-status 1.0, paged; the newest 100 per commit).
        let path = format!("/rest/build-status/1.0/commits/{sha}");
        let mut statuses = Vec::new();
        self.get_paged(&path, |page: Vec<wire::BuildStatus>| statuses.extend(page))
            .with_context(|| {
                format!(
                    "reading the build statuses of {} in {}",
                    sha.short(),
                    self.full_name
                )
            })?;
        Ok(wire::reduce(statuses))
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        // `url` is required: without a page of its own the status links to the commit.
        let commit_page = commit_url(
            &repository_url(&self.web, &RepoPath::new(&self.key, &self.slug)),
            sha,
        );
        let body = wire::CreateBuildStatus {
            state: wire::write_state(status.state),
            key: &status.context,
            name: &status.context,
            url: status.target_url.as_deref().unwrap_or(&commit_page),
            description: &status.description,
        };
        let path = format!("/rest/build-status/1.0/commits/{sha}");
        // "Updating build status for commits": a post with a key the commit already has replaces
        // that status, so resending changes nothing a reader sees. 204 No Content.
        self.http
            .send(
                Method::Post,
                &path,
                Some(&serde_json::to_value(&body).expect("wire bodies serialise")),
                Retry::Idempotent,
            )
            .with_context(|| self.pulls().status_context(sha, status))?;
        Ok(())
    }
}

/// `WirePull::into_domain` with its error as an anyhow error.
trait WirePullExt {
    fn domain(self) -> anyhow::Result<PullRequest>;
}

impl WirePullExt for wire::Pull {
    fn domain(self) -> anyhow::Result<PullRequest> {
        super::shared::WirePull::into_domain(self).map_err(anyhow::Error::msg)
    }
}

/// The advice shown under Bitbucket Data Center errors.
fn hints(api_url: &str, full_name: &str, has_token: bool, token_source: Option<String>) -> HintFn {
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    StatusHints {
        refused: format!(
            "Bitbucket Data Center refused the token: check that {variable} holds a valid, unexpired HTTP access token"
        ),
        no_token: "no token was given: set PROMOTER_TOKEN, BITBUCKET_SERVER_TOKEN or the variable named by scm.tokenEnv"
            .to_owned(),
        forbidden: format!(
            "the HTTP access token lacks a permission on {full_name}: use a personal token of a licensed service account with Repository write (project and repository tokens cannot merge or write build statuses); merge checks may need Repository admin"
        ),
        not_found: format!(
            "repository {full_name} is not visible to this token, or scm.apiUrl ({api_url}) is wrong: it is the instance's base URL, without /rest/api/1.0; repository.owner is the project key, repository.name the slug"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
