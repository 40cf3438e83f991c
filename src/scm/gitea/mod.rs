//! Gitea and Forgejo (REST v1 under `/api/v1`) behind the [`Scm`] trait: which endpoints, which
//! answers mean what (Gitea `routers/api/v1/repo/pull.go`, `status.go` and the swagger), and the
//! re-reads after ambiguous or unclear answers. One implementation serves both: Forgejo is a Gitea
//! fork with the same endpoints and shapes for everything promoter does; [`Flavor`] only names the
//! product in messages. Wire shapes are in `wire.rs`; sending, retrying and paging are in `http.rs`.
//!
//! Decisions where docs/design.md is silent:
//! - PR lookup lists open PRs (`limit=50`, Gitea's default maximum page size) and reads EVERY page
//!   (the total from `X-Total-Count`), then keeps the PR whose head and base are the environment's
//!   branches in this repository (never a fork's). The by-branch route
//!   `GET /pulls/{base}/{head}` is not used: older Gitea and Forgejo lack it, and its 404 looks the
//!   same as "no PR" (Gitea swagger, repoGetPullRequestByBaseHead).
//! - Gate reads use the combined status `GET /commits/{sha}/status` (the latest status per
//!   context, so a context re-posted a hundred times costs nothing extra), every page (X-Total-Count,
//!   else until a page is shorter than the limit); its `state` and `total_count` are not read
//!   (`total_count` counted only the page in older releases). Entries are reduced to the highest id per context again, which
//!   changes nothing on a well-behaved server.
//! - Merge is `Do: merge` with `head_commit_id` as guard and the text under both field spellings
//!   (see `wire::MergePull`). 200 = merged, and the PR is read again for `merge_commit_sha`.
//!   409 `head out of date` → `HeadMoved`; other 409s (conflicts, "merge push out of date") →
//!   `Blocked`. Every 405 re-reads the PR first (405 "PR already merged" has an empty message), then
//!   is `Blocked`: a disallowed merge style says promoter needs merge commits. 404 re-reads the PR
//!   to say whether it was closed. PR create and merge are never resent after an ambiguous failure.
//! - Status descriptions are sent as the caller gives them (Gitea stores them as TEXT); the
//!   planner already cuts them to GitHub's 140 characters for every provider.

mod issues;
mod wire;

use anyhow::Context;

use super::http::{Auth, HintFn, HttpClient, HttpOptions, Method, Retry, StatusHints};
use super::registry::{
    ApiUrls, CiRepository, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls,
    owner_slash_name, web,
};
use super::shared::{CreateHtmlPull, Pulls, TitleBody, refuse_failing_previous};
use super::{MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport, StatusWrite};
use crate::model::{BranchName, PrNumber, Secret, Sha};

/// PR title and description limits. Gitea and Forgejo keep the title in the issue's `name` column,
/// a VARCHAR(255) (models/issues/issue.go, `Title string xorm:"name"`; the web form says
/// `MaxSize(255)`), which MySQL and PostgreSQL refuse to overflow (a 500). The description is
/// LONGTEXT with no limit in the API; promoter cuts it at GitLab's 1 MiB so a runaway commit body
/// never meets a server's request size limit instead.
pub(crate) const TEXT_LIMITS: super::TextLimits = super::TextLimits {
    title: 255,
    body: 1_048_576,
};

/// Items asked for per page: Gitea's default `MAX_RESPONSE_ITEMS` (app.ini `[api]`), the most a
/// default instance gives. A lower server maximum is still read whole (the total decides).
const PAGE_SIZE: usize = 50;
/// Pages of status contexts read at most (2,500 contexts on one commit is not a gate setup).
const MAX_STATUS_PAGES: usize = 50;

/// What Gitea is to the rest of promoter (docs/design.md §7); [`FORGEJO`] differs only in names.
pub(crate) const GITEA: ProviderInfo = ProviderInfo {
    name: "gitea",
    product: "Gitea",
    default_token_env: "GITEA_TOKEN",
    // Gitea and Forgejo accept the token as password with any user name.
    git_username: "promoter",
    pr_noun: "pull request",
    pr_sigil: '#',
    text_limits: TEXT_LIMITS,
    // swagger MergePullRequestOption `head_commit_id`; pull.go answers 409 "head out of date".
    merge_guarded_by_head_sha: true,
    pr_labels: true,
    issues: true,
    api: ApiUrls {
        // Every instance is self-hosted: `apiUrl` is required.
        default_url: None,
        suffix: "/api/v1",
        public_host: None,
    },
    // Gitea and Forgejo Actions set GitHub's variables; only GITHUB_REPOSITORY is read, since
    // GITHUB_API_URL/GITHUB_SERVER_URL may point at github.com in mirrored workflows.
    ci: CiVariables {
        name: "GitHub Actions",
        api_url: None,
        server_url: None,
        repository: Some(CiRepository {
            variables: "GITHUB_REPOSITORY",
            read: |env| owner_slash_name(env, "GITHUB_REPOSITORY"),
        }),
    },
    owner: OwnerShape::One,
    web: WebUrls {
        repository: web::repository_under,
        clone: web::dot_git,
        commit: web::commit,
        compare: web::compare,
    },
    connect,
};

/// Forgejo: a Gitea fork with the same endpoints and shapes for everything promoter does.
pub(crate) const FORGEJO: ProviderInfo = ProviderInfo {
    name: "forgejo",
    product: "Forgejo",
    default_token_env: "FORGEJO_TOKEN",
    ..GITEA
};

fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    let flavor = if connect.provider.info().name == FORGEJO.name {
        Flavor::Forgejo
    } else {
        Flavor::Gitea
    };
    Ok(Box::new(Gitea::new(
        flavor,
        connect.api_url,
        connect.repository,
        connect.token,
        connect.http,
    )?))
}

/// Which product is behind the API URL. They differ in merge-option field spellings (handled by
/// sending both) and version strings (`1.22.3` vs `9.0.3+gitea-1.22.0`), neither of which changes a
/// request promoter sends; the flavor names the product in errors and hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    Gitea,
    Forgejo,
}

impl Flavor {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Flavor::Gitea => "Gitea",
            Flavor::Forgejo => "Forgejo",
        }
    }
}

/// A Gitea or Forgejo repository seen through one token.
#[derive(Debug)]
pub(crate) struct Gitea {
    http: HttpClient,
    flavor: Flavor,
    repo: RepoPath,
    /// `owner/repo`, compared case-insensitively with `head.repo.full_name`.
    full_name: String,
}

impl Gitea {
    /// `api_url`: `https://HOST/api/v1` (required in promotion.yaml for these providers).
    pub(crate) fn new(
        flavor: Flavor,
        api_url: &str,
        repo: &RepoPath,
        token: Option<Secret>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let hint = hints(
            flavor,
            api_url,
            repo,
            token.is_some(),
            options.token_source.clone(),
        );
        // Gitea API docs "Authentication": `Authorization: token <token>` (query-string tokens
        // are deprecated and never used: a token never goes into a URL).
        let http = HttpClient::new(api_url, token.map(Auth::token), options)
            .with_context(|| format!("setting up the {} client for {api_url}", flavor.name()))?
            .with_header("accept", "application/json")
            .with_hint(hint);
        Ok(Self {
            http,
            flavor,
            repo: repo.clone(),
            full_name: repo.full_name(),
        })
    }

    /// `/repos/{owner}/{repo}`, each segment encoded.
    fn repo_path(&self) -> String {
        format!("/repos/{}", self.repo.encoded_segments())
    }

    fn get_pull(&self, number: PrNumber) -> anyhow::Result<wire::Pull> {
        // swagger repoGetPullRequest: `GET /repos/{owner}/{repo}/pulls/{index}`.
        let path = format!("{}/pulls/{}", self.repo_path(), number.0);
        Ok(self.http.get_json(&path)?)
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        let found: Vec<wire::Pull> = self
            .open_pulls()?
            .into_iter()
            .filter(|p| p.is_promotion_pr(&self.full_name, head, base))
            .collect();
        // Gitea refuses a second open PR for the same head and base (409 on create).
        self.pulls().lowest(found)
    }

    /// Every open PR of the repository. swagger repoListPullRequests: filters are only
    /// state/sort/milestone/labels (no head or base), so every page of open PRs is read and
    /// filtered by the caller (upstream gitops-promoter read only the first page and missed PRs
    /// past it). One lookup and a batch of them cost the same listing.
    fn open_pulls(&self) -> Result<Vec<wire::Pull>, super::http::HttpError> {
        let path = format!("{}/pulls?state=open&limit={PAGE_SIZE}", self.repo_path());
        let mut listed: Vec<wire::Pull> = Vec::new();
        self.http
            .get_numbered_pages(&path, PAGE_SIZE, |page: Vec<wire::Pull>| {
                listed.extend(page);
            })?;
        Ok(listed)
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&GITEA, &self.http, &self.full_name)
    }

    /// After a merge answer that does not say what happened: the PR shows whether it merged, was
    /// closed, or moved on.
    fn reread(&self, number: PrNumber, head_sha: &Sha) -> anyhow::Result<Reread> {
        let pull = self.get_pull(number).with_context(|| {
            format!("re-reading pull request {number} to see whether it merged")
        })?;
        if pull.merged {
            let merge_sha = pull
                .merge_commit_sha
                .as_deref()
                .and_then(|s| Sha::parse(s).ok());
            return Ok(Reread::Merged(merge_sha));
        }
        if !pull.is_open() {
            return Ok(Reread::Closed);
        }
        if !pull.pull.head.sha.eq_ignore_ascii_case(head_sha.as_str()) {
            return Ok(Reread::HeadMoved);
        }
        Ok(Reread::Open)
    }
}

/// What a re-read PR shows after an unclear merge answer.
#[derive(Debug, PartialEq, Eq)]
enum Reread {
    Merged(Option<Sha>),
    Closed,
    HeadMoved,
    Open,
}

impl Scm for Gitea {
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
        match self.open_pulls() {
            Ok(listed) => super::pick_pairs(&self.pulls(), listed, pairs, |pull, head, base| {
                pull.is_promotion_pr(&self.full_name, head, base)
            }),
            Err(error) => super::shared_failure(
                anyhow::Error::new(error).context(format!(
                    "listing the open pull requests of {}",
                    self.full_name
                )),
                pairs.len(),
            ),
        }
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest> {
        let body = CreateHtmlPull {
            // Same-repository PR: the plain branch name (swagger CreatePullRequestOption.head).
            head: new.head.as_str(),
            base: new.base.as_str(),
            title: &new.title,
            body: &new.body,
        };
        let path = format!("{}/pulls", self.repo_path());
        // swagger repoCreatePullRequest: 201 PullRequest. A create that may have happened is never
        // sent twice: it is looked up instead.
        // routers/api/v1/repo/pull.go CreatePullRequest: 409 "pull request already exists for
        // these targets [id: …, head_branch: …, base_branch: …]" — adopt that one; 422 "There are
        // no changes between the head and the base" (Gitea 1.22, Forgejo alike) when the head has
        // no commit the base lacks.
        let refusals = super::CreateRefusals::new(409, |status, message| {
            status == 422 && message.contains("no changes between the head and the base")
        });
        self.pulls()
            .create::<wire::Pull>(&path, &body, new, refusals, || {
                self.find(&new.head, &new.base)
            })
    }

    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest> {
        let path = format!("{}/pulls/{}", self.repo_path(), number.0);
        // swagger repoEditPullRequest: `PATCH`, answers 201 (not 200) with the PullRequest; the
        // same title and body twice leave the same PR, so it may be resent.
        self.pulls()
            .update::<wire::Pull>(Method::Patch, &path, &TitleBody { title, body }, number)
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let context = || self.pulls().merge_context(number, head_sha);
        let path = format!("{}/pulls/{}/merge", self.repo_path(), number.0);
        let body = wire::MergePull::merge_commit(title, message, head_sha);
        // swagger repoMergePullRequest: 200 with an EMPTY body = merged (`ctx.Status(200)`).
        let error = match self.http.send(
            Method::Post,
            &path,
            Some(&serde_json::to_value(&body).expect("wire bodies serialise")),
            Retry::NotBlindly,
        ) {
            Ok(_) => {
                // The answer names no commit: the PR does (`merge_commit_sha`). A failed re-read
                // does not undo the merge, so it only costs the SHA.
                let merge_sha = match self.reread(number, head_sha) {
                    Ok(Reread::Merged(sha)) => sha,
                    _ => None,
                };
                return Ok(MergeOutcome::Merged { merge_sha });
            }
            Err(error) => error,
        };
        let status = error.status();
        let text = error.message().unwrap_or_default().to_owned();
        match status {
            // pull.go MergePullRequest: `pull_service.IsErrSHADoesNotMatch` → 409 "head out of date".
            Some(409) if text.contains("head out of date") => Ok(MergeOutcome::HeadMoved),
            // 409: merge/rebase conflicts (the internal error as JSON), unrelated histories,
            // "merge push out of date" (the base moved meanwhile), push rejected by a hook.
            Some(409) => Ok(MergeOutcome::Blocked {
                reason: format!("{} refused the merge: {text}", self.flavor.name()),
            }),
            // 405: "PR already merged" (empty message), "User not allowed to merge PR", "Work in
            // progress PRs cannot be merged", "Please try again later" (not in mergeable state:
            // conflict check running or found a conflict), "PR is not ready to be merged" (branch
            // protection: approvals, status checks), "… is not allowed an allowed merge style".
            Some(405) => match self.reread(number, head_sha).with_context(context)? {
                Reread::Merged(merge_sha) => Ok(MergeOutcome::Merged { merge_sha }),
                Reread::HeadMoved => Ok(MergeOutcome::HeadMoved),
                Reread::Closed | Reread::Open => Ok(MergeOutcome::Blocked {
                    reason: refusal_405(self.flavor, &text),
                }),
            },
            // 404 is also the answer for a CLOSED PR (`pull_service.ErrIsClosed` → `ctx.NotFound()`).
            Some(404) => match self.reread(number, head_sha).with_context(context)? {
                Reread::Merged(merge_sha) => Ok(MergeOutcome::Merged { merge_sha }),
                Reread::Closed => Err(anyhow::Error::new(error)).with_context(|| {
                    format!(
                        "{}: pull request {number} is closed without being merged; promoter opens a new one next pass if it is still needed",
                        context()
                    )
                }),
                Reread::HeadMoved | Reread::Open => {
                    Err(anyhow::Error::new(error)).with_context(context)
                }
            },
            // No answer or a 5xx: the merge may have happened; the PR says (docs/design.md §7).
            _ if error.is_ambiguous() => match self.reread(number, head_sha).with_context(context)? {
                Reread::Merged(merge_sha) => Ok(MergeOutcome::Merged { merge_sha }),
                Reread::HeadMoved => Ok(MergeOutcome::HeadMoved),
                Reread::Closed | Reread::Open => {
                    Err(anyhow::Error::new(error)).with_context(context)
                }
            },
            _ => Err(anyhow::Error::new(error)).with_context(context),
        }
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        let context = || {
            format!(
                "reading the combined commit status of {} in {}",
                sha.short(),
                self.full_name
            )
        };
        // swagger repoGetCombinedStatusByRef: the latest status per context (GetLatestCommitStatus),
        // paged by `page`/`limit`. One request per page of contexts, however often each context
        // was re-posted. The body's `total_count` is not trusted to stop paging (it counted only
        // the page in older releases): the X-Total-Count header, else a short page, ends it.
        let mut statuses = Vec::new();
        for page in 1..=MAX_STATUS_PAGES {
            let path = format!(
                "{}/commits/{sha}/status?limit={PAGE_SIZE}&page={page}",
                self.repo_path()
            );
            let answer = self
                .http
                .send(Method::Get, &path, None, Retry::Idempotent)
                .with_context(context)?;
            let combined: wire::CombinedStatus = serde_json::from_str(&answer.body)
                .map_err(|e| {
                    anyhow::anyhow!("GET {path} answered a body that is not a CombinedStatus: {e}")
                })
                .with_context(context)?;
            let got = combined.statuses.unwrap_or_default();
            let count = got.len();
            statuses.extend(got);
            // Newer releases send the number of contexts as X-Total-Count (SetTotalCountHeader);
            // it also covers a server whose MAX_RESPONSE_ITEMS is below the limit asked for.
            let total = answer
                .header("x-total-count")
                .and_then(|t| t.trim().parse::<usize>().ok());
            let more = match total {
                _ if count == 0 => false,
                Some(total) => statuses.len() < total,
                None => count >= PAGE_SIZE,
            };
            if !more {
                return Ok(wire::reduce(statuses));
            }
        }
        Err(anyhow::anyhow!(
            "more than {} pages of commit status contexts",
            MAX_STATUS_PAGES
        ))
        .with_context(context)
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        let body = wire::CreateStatus {
            state: status.state.as_str(),
            context: &status.context,
            description: &status.description,
            target_url: status.target_url.as_deref(),
        };
        let path = format!("{}/statuses/{}", self.repo_path(), sha);
        // swagger repoCreateStatus: 201 CommitStatus. A repeated status is a new entry with the
        // same content, and the newest per context wins, so resending changes nothing a reader sees.
        self.pulls()
            .post_status::<wire::CommitStatus>(&path, &body, sha, status)
    }
}

/// The reason shown for a 405 on an open, unmerged PR.
fn refusal_405(flavor: Flavor, message: &str) -> String {
    let product = flavor.name();
    // pull.go: `IsErrInvalidMergeStyle` → "merge is not allowed an allowed merge style for this
    // repository" when the repository disables merge commits (`allow_merge_commits`).
    if message.contains("merge style") {
        return format!(
            "the repository does not allow merge commits, which promoter needs: allow them in the repository settings, Pull Requests section (API field `allow_merge_commits`) ({product} said: {message})"
        );
    }
    // "Please try again later": the background conflict check is running or found a conflict.
    if message.contains("try again later") {
        return format!(
            "{product} says the pull request is not in a mergeable state yet (conflict check running, or a conflict): {message}"
        );
    }
    if message.trim().is_empty() {
        return format!("{product} refused the merge (405) without a reason");
    }
    format!("{product} refused the merge: {message}")
}

/// The advice shown under Gitea/Forgejo errors.
fn hints(
    flavor: Flavor,
    api_url: &str,
    repo: &RepoPath,
    has_token: bool,
    token_source: Option<String>,
) -> HintFn {
    let full_name = repo.full_name();
    let product = flavor.name();
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    StatusHints {
        refused: format!(
            "{product} refused the token: check that {variable} holds a valid access token"
        ),
        no_token: format!(
            "no token was given: set PROMOTER_TOKEN, {}_TOKEN or the variable named by scm.tokenEnv",
            product.to_ascii_uppercase()
        ),
        forbidden: format!(
            "the token may lack the `write:repository` scope, or write access to {full_name}"
        ),
        not_found: format!(
            "repository {full_name} is not visible to this token, or scm.apiUrl ({api_url}) is wrong (it ends in /api/v1)"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
