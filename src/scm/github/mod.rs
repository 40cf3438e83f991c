//! GitHub (github.com and Enterprise Server, REST v3, API version 2022-11-28) behind the [`Scm`]
//! trait: which endpoints, which answers mean what, and the re-reads after ambiguous writes. Wire
//! shapes are in `wire.rs`; sending, retrying and waiting are in `http.rs`. GitHub App JWTs and
//! installation tokens are minted in `github/app.rs` and reach this client as an [`Auth`].
//!
//! Decisions where docs/design.md is silent:
//! - A PR is the environment's only if head and base repository are both `owner/repo` (compared
//!   case-insensitively, as GitHub names are); a PR whose head repository was deleted is not.
//! - PR create and merge are never resent after an ambiguous failure (timeout, 5xx): create looks
//!   the PR up again, merge re-reads the PR (`merged`, head SHA). A 405 without a known reason also
//!   re-reads the PR, since a PR merged meanwhile answers 405 too.
//! - Merge refusals: 409 → `HeadMoved`; 405 → `Blocked` (disabled merge commits get a reason saying
//!   promoter needs them); 403/422 naming reviews, status checks, rules or protection → `Blocked`;
//!   any other refusal is an error with a hint.
//! - Gate reads: newest per name; statuses by `updated_at` (list order on the same second), check
//!   runs by `completed_at`/`started_at`; a status and a check run of the same name and second → the
//!   worse state. PR bodies are returned with `\r\n` turned into `\n`.
//! - Status descriptions are cut to 140 characters ([`cut_description`]); callers compare the SCM's
//!   description with the cut text so an unchanged long description is not rewritten every pass.

pub(crate) mod app;
mod graphql;
mod issues;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;

use super::http::{Auth, HintFn, HttpClient, HttpOptions, Method, Retry, StatusHints};
use super::registry::{
    ApiUrls, CiRepository, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls,
    owner_slash_name, web,
};
use super::shared::{CreateHtmlPull, Pulls, TitleBody, refuse_failing_previous};
use super::{
    MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport, StatusWrite, encode,
};
use crate::model::{BranchName, PrNumber, Sha};

/// What GitHub is to the rest of promoter (docs/design.md §7).
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    name: "github",
    product: "GitHub",
    default_token_env: "GITHUB_TOKEN",
    // "x-access-token" works for installation tokens, PATs and the workflow token.
    git_username: "x-access-token",
    pr_noun: "pull request",
    pr_sigil: '#',
    text_limits: TEXT_LIMITS,
    // Docs pulls/merge: `sha`, "SHA that pull request head must match to allow merge" (409).
    merge_guarded_by_head_sha: true,
    pr_labels: true,
    issues: true,
    api: ApiUrls {
        default_url: Some("https://api.github.com"),
        // Docs "About GitHub Enterprise Server" REST root: `https://HOST/api/v3`.
        suffix: "/api/v3",
        public_host: Some(("https://api.github.com", "https://github.com")),
    },
    // Docs actions "Variables reference" (default environment variables).
    ci: CiVariables {
        name: "GitHub Actions",
        api_url: Some("GITHUB_API_URL"),
        server_url: Some("GITHUB_SERVER_URL"),
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

/// A GitHub App's installation token is asked for before every request (refreshed when it is
/// about to expire, `connect.minted`); a token variable is fixed for the run.
fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    let auth = match connect.minted {
        Some(minted) => Some(minted),
        // Docs "Authenticating to the REST API": `Authorization: Bearer <token>` for every token kind.
        None => connect.token.map(Auth::bearer),
    };
    Ok(Box::new(GitHub::with_auth(
        connect.api_url,
        connect.repository,
        auth,
        connect.http,
    )?))
}

/// GitHub rejects commit status descriptions longer than this (observed; docs
/// repos/create-commit-status call it "a short description").
pub(crate) const STATUS_DESCRIPTION_LIMIT: usize = 140;

/// PR title and body limits. GitHub answers 422 "title is too long (maximum is 256 characters)" and
/// "body is too long (maximum is 65536 characters)" (observed; docs rest/pulls/pulls#create-a-pull-request
/// state no limit). Characters, not bytes.
pub(crate) const TEXT_LIMITS: super::TextLimits = super::TextLimits {
    title: 256,
    body: 65_536,
};

/// What GitHub will show for a description promoter writes: cut to 140 characters on a character
/// boundary. Callers compare the SCM's description with this, not with the uncut text.
pub(crate) fn cut_description(text: &str) -> String {
    text.chars().take(STATUS_DESCRIPTION_LIMIT).collect()
}

/// A GitHub repository seen through one token.
#[derive(Debug)]
pub(crate) struct GitHub {
    http: HttpClient,
    /// The GraphQL endpoint (`graphql.rs`), for gate reads of many commits in one query.
    graphql: HttpClient,
    /// GraphQL answered that it cannot serve the query: REST for the rest of the run.
    graphql_off: AtomicBool,
    repo: RepoPath,
    /// `owner/repo`, compared case-insensitively with `head.repo.full_name`.
    full_name: String,
}

/// Gate reads go to GraphQL when at least this many commits have no REST validators kept: below
/// it REST costs at most 4 requests, and its answers can be asked again conditionally next pass
/// (a 304 costs nothing against the rate limit), which a GraphQL POST cannot.
pub(crate) const GRAPHQL_MIN_SHAS: usize = 3;

impl GitHub {
    /// `api_url`: `https://api.github.com` or `https://HOST/api/v3`. Without a token, requests
    /// are anonymous (public repositories, reads only, 60 requests an hour).
    #[cfg(test)]
    pub(crate) fn new(
        api_url: &str,
        repo: &RepoPath,
        token: Option<crate::model::Secret>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        // Docs "Authenticating to the REST API": `Authorization: Bearer <token>` for every token kind.
        Self::with_auth(api_url, repo, token.map(Auth::bearer), options)
    }

    /// A client with any [`Auth`], e.g. [`Auth::bearer_from`] a GitHub App's
    /// installation tokens ([`app::InstallationTokens`]).
    pub(crate) fn with_auth(
        api_url: &str,
        repo: &RepoPath,
        auth: Option<Auth>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let hint = hints(api_url, repo, auth.is_some(), options.token_source.clone());
        let graphql_url = graphql::endpoint(api_url);
        let graphql = HttpClient::new(&graphql_url, auth.clone(), options.clone())
            .with_context(|| format!("setting up the GitHub GraphQL client for {graphql_url}"))?
            .with_hint(hint.clone());
        let http = HttpClient::new(api_url, auth, options)
            .with_context(|| format!("setting up the GitHub client for {api_url}"))?
            // Docs "Getting started with the REST API" → "Headers": the media type and the pinned
            // API version (2022-11-28 still has `merge_commit_sha`, which is read only as a bonus).
            .with_header("accept", "application/vnd.github+json")
            .with_header("x-github-api-version", "2022-11-28")
            .with_hint(hint);
        Ok(Self {
            http,
            graphql,
            graphql_off: AtomicBool::new(false),
            repo: repo.clone(),
            full_name: repo.full_name(),
        })
    }

    /// `/repos/{owner}/{repo}`, each segment encoded.
    fn repo_path(&self) -> String {
        format!("/repos/{}", self.repo.encoded_segments())
    }

    fn get_pull(&self, number: PrNumber) -> anyhow::Result<wire::Pull> {
        let path = format!("{}/pulls/{}", self.repo_path(), number.0);
        Ok(self.http.get_json(&path)?)
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        // Docs pulls/list: `head` filters by "user or organization name and branch name in the
        // format user:ref-name"; without the owner prefix GitHub ignores it (observed, many
        // reports), so the owner is always sent and the answer is checked again below.
        let path = format!(
            "{}/pulls?state=open&head={}:{}&base={}&per_page=100",
            self.repo_path(),
            encode(&self.repo.owner()),
            encode(head.as_str()),
            encode(base.as_str()),
        );
        let mut found: Vec<wire::Pull> = Vec::new();
        self.http.get_pages(&path, |page: Vec<wire::Pull>| {
            found.extend(
                page.into_iter()
                    .filter(|p| p.is_promotion_pr(&self.full_name, head, base)),
            );
        })?;
        // GitHub allows one open PR per head/base in a repository (422 "already exists").
        self.pulls().lowest(found)
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&PROVIDER, &self.http, &self.full_name)
    }

    /// The REST paths of `sha`'s gate read: commit statuses and check runs.
    fn gate_paths(&self, sha: &Sha) -> [String; 2] {
        let commit = format!("{}/commits/{}", self.repo_path(), sha);
        [
            format!("{commit}/statuses?per_page=100"),
            format!("{commit}/check-runs?per_page=100"),
        ]
    }

    /// The gate reports of `shas` by GraphQL (`graphql.rs`), [`graphql::MAX_SHAS`] a query;
    /// `None` for a commit REST must read.
    fn graphql_reports(
        &self,
        shas: &[Sha],
    ) -> Result<Vec<Option<Vec<StatusReport>>>, graphql::Failure> {
        let mut all = Vec::with_capacity(shas.len());
        for chunk in shas.chunks(graphql::MAX_SHAS) {
            let body = serde_json::json!({
                "query": graphql::query(chunk),
                "variables": {"owner": self.repo.owner(), "name": self.repo.name()},
            });
            // A query reads only, so it may be sent again like a GET.
            let answer: graphql::Answer = self
                .graphql
                .send_json(Method::Post, "", &body, Retry::Idempotent)
                .map_err(graphql::Failure::of)?;
            all.extend(
                graphql::read(answer, chunk.len())?
                    .into_iter()
                    .map(|per| per.map(|(statuses, runs)| wire::reduce(statuses, runs))),
            );
        }
        Ok(all)
    }

    /// After a merge answer that does not say what happened: the PR shows whether it merged.
    fn merge_outcome_from_pull(
        &self,
        number: PrNumber,
        head_sha: &Sha,
    ) -> anyhow::Result<Option<MergeOutcome>> {
        let pull = self.get_pull(number).with_context(|| {
            format!("re-reading pull request {number} to see whether it merged")
        })?;
        if pull.merged == Some(true) {
            let merge_sha = pull
                .merge_commit_sha
                .as_deref()
                .and_then(|s| Sha::parse(s).ok());
            return Ok(Some(MergeOutcome::Merged { merge_sha }));
        }
        if !pull.pull.head.sha.eq_ignore_ascii_case(head_sha.as_str()) {
            return Ok(Some(MergeOutcome::HeadMoved));
        }
        Ok(None)
    }
}

impl Scm for GitHub {
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
        // Docs pulls/list (https://docs.github.com/en/rest/pulls/pulls#list-pull-requests):
        // without `head`/`base` every open PR of the repository, `per_page` at most 100, paged by
        // `link`. Picked per pair below with the same checks as a single lookup.
        let path = format!("{}/pulls?state=open&per_page=100", self.repo_path());
        let mut listed: Vec<wire::Pull> = Vec::new();
        match self.http.get_pages(&path, |page: Vec<wire::Pull>| {
            listed.extend(page);
        }) {
            Ok(()) => super::pick_pairs(&self.pulls(), listed, pairs, |pull, head, base| {
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
            title: &new.title,
            body: &new.body,
            // Same-repository PR: the plain branch name (docs pulls/create, `head`).
            head: new.head.as_str(),
            base: new.base.as_str(),
        };
        let path = format!("{}/pulls", self.repo_path());
        // A create that may have happened is never sent twice: it is looked up instead.
        // 422 "A pull request already exists for owner:branch." (validation-error `errors[].message`;
        // observed, not in the docs): someone or an earlier pass opened it; adopt that one.
        // Docs pulls/create: 422 "Validation failed"; when the head has no commit the base lacks,
        // the validation-error message is "No commits between <base> and <head>" (observed).
        let refusals = super::CreateRefusals::new(422, |status, message| {
            status == 422 && message.contains("No commits between")
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
        // Docs pulls/update: PATCH with the same title and body twice leaves the same PR.
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
        let body = wire::MergePull {
            commit_title: title,
            commit_message: message,
            sha: head_sha.as_str(),
            // Promotion history relies on merge commits (trailers, docs/design.md §3).
            merge_method: "merge",
        };
        let error = match self.http.send_json::<wire::MergeResult>(
            Method::Put,
            &path,
            &body,
            Retry::NotBlindly,
        ) {
            // Docs pulls/merge, 200: `sha` is the merge commit.
            Ok(result) => {
                let merge_sha = result.sha.as_deref().and_then(|s| Sha::parse(s).ok());
                return Ok(MergeOutcome::Merged { merge_sha });
            }
            Err(error) => error,
        };
        if error.is_ambiguous() {
            // The merge may have happened: the PR says (docs/design.md §7, "already merged" is success).
            return match self
                .merge_outcome_from_pull(number, head_sha)
                .with_context(context)?
            {
                Some(outcome) => Ok(outcome),
                None => Err(anyhow::Error::new(error)).with_context(context),
            };
        }
        let status = error.status().unwrap_or_default();
        let text = error.message().unwrap_or_default().to_owned();
        match refusal(status, &text) {
            Refusal::HeadMoved => Ok(MergeOutcome::HeadMoved),
            Refusal::Blocked(reason) => Ok(MergeOutcome::Blocked { reason }),
            Refusal::Unclear => {
                // "Pull Request is not mergeable" also answers a PR merged meanwhile.
                if let Some(MergeOutcome::Merged { merge_sha }) = self
                    .merge_outcome_from_pull(number, head_sha)
                    .with_context(context)?
                {
                    return Ok(MergeOutcome::Merged { merge_sha });
                }
                Ok(MergeOutcome::Blocked { reason: text })
            }
            Refusal::Error => Err(anyhow::Error::new(error)).with_context(context),
        }
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        let context = || {
            format!(
                "reading commit statuses and check runs of {} in {}",
                sha.short(),
                self.full_name
            )
        };
        let [statuses_path, runs_path] = self.gate_paths(sha);
        let mut statuses = Vec::new();
        // Docs repos/list-commit-statuses-for-ref: every status, newest first, paginated.
        self.http
            .get_pages(&statuses_path, |page: Vec<wire::CommitStatus>| {
                statuses.extend(page);
            })
            .with_context(context)?;
        let mut runs = Vec::new();
        // Docs checks/list-for-ref: `filter=latest` (the default) gives the latest run per suite;
        // the body is `{total_count, check_runs}`, paginated by `link`.
        self.http
            .get_pages(&runs_path, |page: wire::CheckRuns| {
                runs.extend(page.check_runs);
            })
            .with_context(context)?;
        Ok(wire::reduce(statuses, runs))
    }

    /// Commits whose REST reads were answered before (validators kept) are read by REST again,
    /// where an unchanged answer is a free 304; the others by one GraphQL query when there are
    /// [`GRAPHQL_MIN_SHAS`] or more (docs/performance.md, "Batched reads").
    fn status_reports_of(&self, shas: &[Sha]) -> Vec<anyhow::Result<Vec<StatusReport>>> {
        let mut done: Vec<Option<anyhow::Result<Vec<StatusReport>>>> =
            shas.iter().map(|_| None).collect();
        let fresh: Vec<usize> = (0..shas.len())
            .filter(|&i| {
                !self
                    .gate_paths(&shas[i])
                    .iter()
                    .all(|path| self.http.has_validators(path))
            })
            .collect();
        if fresh.len() >= GRAPHQL_MIN_SHAS && !self.graphql_off.load(Ordering::Relaxed) {
            let chosen: Vec<Sha> = fresh.iter().map(|&i| shas[i].clone()).collect();
            match self.graphql_reports(&chosen) {
                Ok(read) => {
                    for (&i, reports) in fresh.iter().zip(read) {
                        done[i] = reports.map(Ok);
                    }
                }
                // No GraphQL here: REST below, and for the rest of the run.
                Err(graphql::Failure::Unavailable) => {
                    self.graphql_off.store(true, Ordering::Relaxed);
                }
                Err(graphql::Failure::Failed(error)) => {
                    let error = anyhow::Error::new(error).context(format!(
                        "reading commit statuses and check runs of {} commits in {} by GraphQL",
                        chosen.len(),
                        self.full_name
                    ));
                    for (&i, failure) in
                        fresh.iter().zip(super::shared_failure(error, chosen.len()))
                    {
                        done[i] = Some(failure);
                    }
                }
            }
        }
        done.into_iter()
            .zip(shas)
            .map(|(result, sha)| result.unwrap_or_else(|| self.status_reports(sha)))
            .collect()
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        let description = cut_description(&status.description);
        let body = wire::CreateStatus {
            state: status.state.as_str(),
            description: &description,
            context: &status.context,
            target_url: status.target_url.as_deref(),
        };
        let path = format!("{}/statuses/{}", self.repo_path(), sha);
        // Docs repos/create-commit-status: the latest status per context wins, so a repeated
        // write of the same status changes nothing a reader sees; safe to resend.
        self.pulls()
            .post_status::<wire::CommitStatus>(&path, &body, sha, status)
    }
}

/// What a refused merge means.
#[derive(Debug, PartialEq, Eq)]
enum Refusal {
    HeadMoved,
    Blocked(String),
    /// 405 without a known reason: maybe merged meanwhile, re-read.
    Unclear,
    Error,
}

fn refusal(status: u16, message: &str) -> Refusal {
    let lower = message.to_ascii_lowercase();
    let protection = [
        "review",
        "status check",
        "protected branch",
        "branch protection",
        "rule",
        "required",
    ]
    .iter()
    .any(|w| lower.contains(w));
    match status {
        // Docs pulls/merge: 409 "Conflict if sha was provided and pull request head did not match".
        409 => Refusal::HeadMoved,
        // Docs pulls/merge: 405 "Method Not Allowed if merge cannot be performed". Merge commits
        // disabled answers "Merge commits are not allowed on this repository." (observed).
        405 if lower.contains("merge commit") && lower.contains("not allowed") => {
            Refusal::Blocked(format!(
                "the repository does not allow merge commits, which promoter needs: enable \"Allow merge commits\" in the repository settings (GitHub said: {message})"
            ))
        }
        405 if protection || lower.contains("base branch was modified") => {
            Refusal::Blocked(message.to_owned())
        }
        405 => Refusal::Unclear,
        // Rulesets and branch protection answer 403/422 with the unmet rule (observed).
        403 | 422 if protection => Refusal::Blocked(message.to_owned()),
        _ => Refusal::Error,
    }
}

/// The advice shown under GitHub errors (docs/design.md §7, issue 5).
fn hints(api_url: &str, repo: &RepoPath, has_token: bool, token_source: Option<String>) -> HintFn {
    let full_name = repo.full_name();
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    StatusHints {
        refused: format!(
            "GitHub refused the token: check that {variable} holds a valid, unexpired token"
        ),
        no_token: "no token was given: set PROMOTER_TOKEN, GITHUB_TOKEN or the variable named by scm.tokenEnv".to_owned(),
        forbidden: format!(
            "the token may lack a permission on {full_name} (pull requests: write, contents: write, commit statuses: write, checks: read; classic tokens: `repo`), or a rate limit was hit"
        ),
        not_found: format!(
            "repository {full_name} is not visible to this token, or scm.apiUrl ({api_url}) is wrong"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod tests;
