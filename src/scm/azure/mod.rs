//! Azure DevOps Services (Azure Repos, REST 7.1) behind the [`Scm`] trait: which endpoints, which
//! answers mean what, and the re-reads after ambiguous or unclear answers. Wire shapes are in
//! `wire.rs`; sending, retrying and waiting are in `http.rs`.
//!
//! Every URL is `{apiUrl}/{organization}/{project}/_apis/git/repositories/{repository}/…` with
//! `api-version=7.1` (the API root is `https://dev.azure.com`; `repository.owner` is
//! `organization/project`). A PAT goes as HTTP Basic with an empty user name, and every request
//! carries `X-TFS-FedAuthRedirect: Suppress` so a refused credential is a 401, not a sign-in page.
//!
//! Decisions where docs/design.md is silent:
//! - PR lookup searches active PRs by full source and target ref (`searchCriteria.*`), pages with
//!   `$top=100`/`$skip`, and keeps the PR of this repository (never a fork's: `forkSource`). List
//!   answers cut descriptions to 400 characters, so a found PR whose description may be cut is
//!   read once more by id: a lookup that finds a PR with a long description is two requests.
//! - Merge is Pull Requests - Update with `status: completed`, `lastMergeSourceCommit` = the SHA
//!   whose gates were read (the head guard: a moved source is refused with 409 `TF401192`) and
//!   `completionOptions.mergeStrategy: noFastForward`. Completion may be asynchronous: an answer
//!   still `active` with `completionQueueTime` is polled up to [`COMPLETION_POLLS`] times on the
//!   run's wait budget; still unfinished, it is reported as merging (blocked for this pass) and
//!   the next pass sees the result.
//! - Statuses are commit statuses. promoter writes `context.name` = the gate key and
//!   `context.genre` = `promoter`; reading, a status of genre `promoter` (or none) is named by its
//!   `name`, any other by `genre/name` (how Azure DevOps shows it). Statuses are append-only; the
//!   list is read with `latestOnly=true`.
//! - Azure Repos has no issues: the dashboard is not available (`scm::Issues` says so).

mod issues;
mod wire;

use std::time::Duration;

use anyhow::Context;

use super::http::{Auth, HintFn, HttpClient, HttpError, HttpOptions, Method, Retry, StatusHints};
use super::registry::{
    ApiUrls, CiRepository, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls,
};
use super::shared::{Pulls, refuse_failing_previous};
use super::{
    CreateRefusals, MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport,
    StatusWrite, TextLimits, encode,
};
use crate::ci_env::{Env, var};
use crate::model::{BranchName, PrNumber, Secret, Sha};

/// PR title and description limits. The description: Pull Requests - Update lists "Description
/// (up to 4000 characters)"; the title: 400, the web form's limit (not stated by the REST
/// reference; promoter's default title is far shorter).
/// <https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/update?view=azure-devops-rest-7.1>
pub(crate) const TEXT_LIMITS: TextLimits = TextLimits {
    title: 400,
    body: 4000,
};

/// `api-version` of every request: 7.1 is the GA version of Azure DevOps Services' REST API.
const API_VERSION: &str = "api-version=7.1";
/// PRs asked for per page (`$top`).
const PAGE_SIZE: usize = 100;
/// Statuses asked for per page (`top`).
const STATUS_PAGE_SIZE: usize = 1000;
/// Pages read at most for one listing.
const MAX_PAGES: usize = 20;
/// List answers cut PR descriptions to this many characters (Pull Requests - Get Pull Requests:
/// "Please note that description field will be truncated up to 400 symbols in the result").
const LIST_DESCRIPTION_CUT: usize = 400;
/// Reads of a PR whose completion the server queued, before the pass reports it as merging.
pub(crate) const COMPLETION_POLLS: u32 = 5;
/// Between two reads of a queued completion (on the run's wait budget).
const COMPLETION_POLL_WAIT: Duration = Duration::from_secs(2);

/// What Azure DevOps is to the rest of promoter (docs/design.md §7).
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    name: "azure-devops",
    product: "Azure DevOps",
    default_token_env: "AZURE_DEVOPS_TOKEN",
    // Git over HTTPS takes a PAT as the password with any user name ("Use personal access
    // tokens": "use any username"); System.AccessToken likewise.
    // https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate
    git_username: "promoter",
    pr_noun: "pull request",
    // Azure DevOps links PRs written `!12` (Markdown guidance, "Link to work items and pull
    // requests").
    pr_sigil: '!',
    text_limits: TEXT_LIMITS,
    // Pull Requests - Update: `lastMergeSourceCommit` is required to complete, and a source that
    // moved since is refused (409 TF401192, observed).
    merge_guarded_by_head_sha: true,
    pr_labels: true,
    issues: false,
    api: ApiUrls {
        default_url: Some("https://dev.azure.com"),
        // The organization and project are path segments of every URL, taken from
        // `repository.owner`: the API root is the web address itself.
        suffix: "",
        public_host: None,
    },
    ci: CiVariables {
        name: "Azure Pipelines",
        // SYSTEM_COLLECTIONURI names the organization too (`https://dev.azure.com/acme/`), which
        // promotion.yaml keeps in `repository.owner`: it is read for the owner, not as the API URL.
        api_url: None,
        server_url: None,
        repository: Some(CiRepository {
            variables: "SYSTEM_COLLECTIONURI, SYSTEM_TEAMPROJECT and BUILD_REPOSITORY_NAME",
            read: pipeline_repository,
        }),
    },
    owner: OwnerShape::Exactly {
        segments: 2,
        what: "`organization/project`",
    },
    web: WebUrls {
        repository: repository_page,
        clone: repository_page,
        commit: commit_page,
        compare: compare_page,
    },
    connect,
};

/// `{web}/{organization}/{project}/_git/{repository}`: the repository's page, which is also what
/// git clones ("Clone an existing Git repo": `https://dev.azure.com/{org}/{project}/_git/{repo}`).
fn repository_page(web_base: &str, path: &RepoPath) -> String {
    let owner: Vec<String> = path
        .owner_segments()
        .iter()
        .map(|s| encode(s).to_string())
        .collect();
    format!(
        "{web_base}/{}/_git/{}",
        owner.join("/"),
        encode(path.name())
    )
}

/// `{page}/commit/{sha}`.
fn commit_page(repository_page: &str, sha: &Sha) -> String {
    format!("{repository_page}/commit/{sha}")
}

/// The changes on `to` since `from`: `{page}/branchCompare?baseVersion=GC{from}&targetVersion=GC{to}`
/// (`GC` = a commit version).
fn compare_page(repository_page: &str, from: &Sha, to: &Sha) -> String {
    format!("{repository_page}/branchCompare?baseVersion=GC{from}&targetVersion=GC{to}")
}

/// The pipeline's own repository: the organization from `SYSTEM_COLLECTIONURI`
/// (`https://dev.azure.com/{org}/`, or legacy `https://{org}.visualstudio.com/`), the project
/// from `SYSTEM_TEAMPROJECT`, the name from `BUILD_REPOSITORY_NAME` — only when the pipeline's
/// repository is an Azure Repos one (`BUILD_REPOSITORY_PROVIDER` = `TfsGit`, when set).
/// <https://learn.microsoft.com/en-us/azure/devops/pipelines/build/variables?view=azure-devops>
fn pipeline_repository(env: Env<'_>) -> Option<(String, String)> {
    if let Some(provider) = var(env, "BUILD_REPOSITORY_PROVIDER")
        && provider != "TfsGit"
    {
        return None;
    }
    let collection = var(env, "SYSTEM_COLLECTIONURI")?;
    let organization = organization_of(&collection)?;
    let project = var(env, "SYSTEM_TEAMPROJECT")?;
    let name = var(env, "BUILD_REPOSITORY_NAME")?;
    if project.contains('/') || name.contains('/') {
        return None;
    }
    Some((format!("{organization}/{project}"), name))
}

/// The organization of a collection URL: `https://dev.azure.com/acme/` → `acme`,
/// `https://acme.visualstudio.com/` → `acme`.
fn organization_of(collection: &str) -> Option<String> {
    let rest = collection
        .strip_prefix("https://")
        .or_else(|| collection.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let first = path.split('/').find(|s| !s.is_empty());
    let organization = match host.strip_suffix(".visualstudio.com") {
        Some(organization) => organization,
        None => first?,
    };
    let organization = percent_encoding::percent_decode_str(organization)
        .decode_utf8_lossy()
        .into_owned();
    (!organization.is_empty() && !organization.contains('/')).then_some(organization)
}

fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    Ok(Box::new(Azure::new(
        connect.api_url,
        connect.repository,
        connect.token,
        connect.http,
    )?))
}

/// An Azure DevOps repository seen through one token.
#[derive(Debug)]
pub(crate) struct Azure {
    http: HttpClient,
    repo: RepoPath,
    /// `organization/project/repository`, for messages.
    full_name: String,
    /// `/{organization}/{project}/_apis/git/repositories/{repository}`, each segment encoded.
    api_path: String,
    /// The repository's web page (PR pages are under it).
    page: String,
}

impl Azure {
    /// `api_url`: `https://dev.azure.com` (or an Azure DevOps Server collection's host).
    pub(crate) fn new(
        api_url: &str,
        repo: &RepoPath,
        token: Option<Secret>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let hint = hints(api_url, repo, token.is_some(), options.token_source.clone());
        // "Use personal access tokens" → "Use a PAT in your code": HTTP Basic with an empty user
        // name and the PAT as the password.
        let auth = token.map(|token| Auth::basic("", &token));
        let http = HttpClient::new(api_url, auth, options)
            .with_context(|| format!("setting up the Azure DevOps client for {api_url}"))?
            .with_header("accept", "application/json")
            // Without it a refused credential is answered 203 (or 302) with the HTML sign-in page
            // instead of 401 ("Authentication guidance for REST APIs"; observed in client projects).
            .with_header("x-tfs-fedauthredirect", "Suppress")
            .with_hint(hint);
        let owner: Vec<String> = repo
            .owner_segments()
            .iter()
            .map(|s| encode(s).to_string())
            .collect();
        let api_path = format!(
            "/{}/_apis/git/repositories/{}",
            owner.join("/"),
            encode(repo.name())
        );
        Ok(Self {
            http,
            repo: repo.clone(),
            full_name: repo.full_name(),
            api_path,
            page: repository_page(api_url.trim_end_matches('/'), repo),
        })
    }

    /// `{api_path}{rest}?{query}api-version=7.1`; `query` is empty or ends with `&`.
    fn url(&self, rest: &str, query: &str) -> String {
        format!("{}{rest}?{query}{API_VERSION}", self.api_path)
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&PROVIDER, &self.http, &self.full_name)
    }

    /// A PR's web page: `{repository page}/pullrequest/{id}`.
    fn pull_page(&self, number: u64) -> String {
        format!("{}/pullrequest/{number}", self.page)
    }

    /// Sends a request and decodes its JSON answer. A 2xx that is not JSON is Azure DevOps' sign-in
    /// page (203 Non-Authoritative Information, or 200 after a redirect): the credential was not
    /// accepted, and that is what the error says.
    fn call<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Result<T, HttpError> {
        let answer = self.http.send(method, path, body, retry)?;
        let shown = path.split('?').next().unwrap_or(path).to_owned();
        let json_type = answer
            .header("content-type")
            .is_none_or(|t| t.to_ascii_lowercase().contains("json"));
        let looks_json = answer.body.trim_start().starts_with(['{', '[']);
        if answer.status == 203 || !json_type || !looks_json {
            return Err(HttpError::Status {
                method,
                path: shown,
                status: answer.status,
                message: "a sign-in page instead of JSON: the credential was not accepted"
                    .to_owned(),
                hint: Some(sign_in_hint(self.http.options().token_source.as_deref())),
            });
        }
        serde_json::from_str(&answer.body).map_err(|e| HttpError::Decode {
            method,
            path: shown,
            detail: e.to_string(),
        })
    }

    /// [`Azure::call`] with `body` as its JSON body.
    fn write<T: serde::de::DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
        retry: Retry,
    ) -> Result<T, HttpError> {
        let value = serde_json::to_value(body).expect("wire bodies serialise");
        self.call(method, path, Some(&value), retry)
    }

    fn get_pull(&self, number: u64) -> anyhow::Result<wire::Pull> {
        // Pull Requests - Get Pull Request By Id (repository-scoped): the whole description.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/get-pull-request?view=azure-devops-rest-7.1
        let path = self.url(&format!("/pullrequests/{number}"), "");
        Ok(self.call(Method::Get, &path, None, Retry::Idempotent)?)
    }

    fn domain(&self, pull: wire::Pull) -> anyhow::Result<PullRequest> {
        let number = pull.pull_request_id;
        let page = self.pull_page(number);
        pull.into_domain(page).map_err(|e| {
            anyhow::anyhow!(
                "{} has an unexpected shape: {e}",
                self.pulls().name(PrNumber(number))
            )
        })
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        // Pull Requests - Get Pull Requests: `searchCriteria.sourceRefName`/`targetRefName` (full
        // refs), `searchCriteria.status` (`active`), `$top`/`$skip`; answer `{"value", "count"}`.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/get-pull-requests?view=azure-devops-rest-7.1
        let criteria = format!(
            "searchCriteria.sourceRefName={}&searchCriteria.targetRefName={}&",
            encode(&wire::full_ref(head)),
            encode(&wire::full_ref(base)),
        );
        let listed = self.list_active(&criteria)?;
        self.pick(listed, head, base)
    }

    /// Every active PR the search `criteria` (empty: the whole repository) finds, all pages.
    fn list_active(&self, criteria: &str) -> anyhow::Result<Vec<wire::Pull>> {
        let mut found: Vec<wire::Pull> = Vec::new();
        for page in 0..MAX_PAGES {
            let query = format!(
                "{criteria}searchCriteria.status=active&$top={PAGE_SIZE}&$skip={}&",
                page * PAGE_SIZE
            );
            let path = self.url("/pullrequests", &query);
            let list: wire::List<wire::Pull> =
                self.call(Method::Get, &path, None, Retry::Idempotent)?;
            let count = list.value.len();
            found.extend(list.value);
            // No total is given: a short page is the last one.
            if count < PAGE_SIZE {
                break;
            }
        }
        Ok(found)
    }

    /// The open promotion PR from `head` into `base` among `listed`, read whole when the list cut
    /// its description.
    fn pick(
        &self,
        listed: Vec<wire::Pull>,
        head: &BranchName,
        base: &BranchName,
    ) -> anyhow::Result<Option<PullRequest>> {
        // Azure DevOps refuses a second active PR for one source and target (409 TF401179), so
        // there is at most one; the lowest id keeps the choice deterministic anyway.
        let Some(pull) = listed
            .into_iter()
            .filter(|p| p.is_promotion_pr(head, base))
            .min_by_key(|p| p.pull_request_id)
        else {
            return Ok(None);
        };
        let cut = pull
            .description
            .as_deref()
            .is_some_and(|d| d.chars().count() >= LIST_DESCRIPTION_CUT);
        let pull = if cut {
            self.get_pull(pull.pull_request_id)?
        } else {
            pull
        };
        // Completed or abandoned between the two reads: no longer the environment's open PR.
        if !pull.is_active() {
            return Ok(None);
        }
        self.domain(pull).map(Some)
    }

    /// After a merge answer that does not say what happened: the PR shows whether it completed,
    /// was abandoned, or moved on.
    fn reread(&self, number: PrNumber, head_sha: &Sha) -> anyhow::Result<Reread> {
        let pull = self.get_pull(number.0).with_context(|| {
            format!(
                "re-reading {} to see whether it completed",
                self.pulls().name(number)
            )
        })?;
        Ok(Reread::of(pull, head_sha))
    }

    /// A completion the server accepted but queued: read the PR again, a bounded number of
    /// times, on the run's wait budget.
    fn await_completion(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        mut pull: wire::Pull,
    ) -> MergeOutcome {
        let mut queued_since = None;
        for _ in 0..COMPLETION_POLLS {
            queued_since = pull.completion_queue_time.clone();
            match Reread::of(pull, head_sha) {
                Reread::Merged(merge_sha) => return MergeOutcome::Merged { merge_sha },
                Reread::HeadMoved => return MergeOutcome::HeadMoved,
                Reread::Closed => {
                    return MergeOutcome::Blocked {
                        reason: format!(
                            "{} was abandoned while Azure DevOps was completing it",
                            self.pulls().name(number)
                        ),
                    };
                }
                Reread::Refused(reason) => return MergeOutcome::Blocked { reason },
                Reread::Open => {}
            }
            if !self.http.pause(COMPLETION_POLL_WAIT) {
                break;
            }
            pull = match self.get_pull(number.0) {
                Ok(pull) => pull,
                Err(_) => break,
            };
        }
        // Still queued: the next pass sees it completed (the live branch has the merge) or
        // sends the completion again.
        let since = queued_since
            .map(|at| format!(" (queued at {})", crate::untrusted::one_line(&at)))
            .unwrap_or_default();
        MergeOutcome::Blocked {
            reason: format!(
                "Azure DevOps accepted the completion of {}{since} and is still merging it; the next pass sees the result",
                self.pulls().name(number)
            ),
        }
    }
}

/// What a re-read PR shows after a completion answer.
#[derive(Debug, PartialEq, Eq)]
enum Reread {
    Merged(Option<Sha>),
    /// Abandoned.
    Closed,
    HeadMoved,
    /// The server's merge failed: conflicts, policies, a failure message.
    Refused(String),
    /// Active; its completion (if asked) not finished.
    Open,
}

impl Reread {
    fn of(pull: wire::Pull, head_sha: &Sha) -> Reread {
        if pull.is_completed() {
            return Reread::Merged(pull.merge_sha());
        }
        if !pull.is_active() {
            return Reread::Closed;
        }
        if pull
            .head()
            .is_some_and(|h| !h.eq_ignore_ascii_case(head_sha.as_str()))
        {
            return Reread::HeadMoved;
        }
        // PullRequestAsyncStatus: the merge the server tried for the completion failed.
        match pull.merge_status.as_deref() {
            Some(status @ ("conflicts" | "rejectedByPolicy" | "failure")) => {
                let detail = pull
                    .merge_failure_message
                    .map(|m| format!(": {}", crate::untrusted::one_line(&m)))
                    .unwrap_or_default();
                Reread::Refused(format!(
                    "Azure DevOps could not complete the pull request (mergeStatus `{status}`){detail}"
                ))
            }
            _ => Reread::Open,
        }
    }
}

impl Scm for Azure {
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
        // One search without source/target criteria lists every active PR of the repository
        // (docs/performance.md, "Batched reads"); each pair is picked from it as `find` does.
        let listed = match self.list_active("") {
            Ok(listed) => listed,
            Err(error) => {
                return super::shared_failure(
                    error.context(format!(
                        "listing the active pull requests of {}",
                        self.full_name
                    )),
                    pairs.len(),
                );
            }
        };
        let mut per_pair: Vec<Vec<wire::Pull>> = pairs.iter().map(|_| Vec::new()).collect();
        for pull in listed {
            if let Some(at) = pairs
                .iter()
                .position(|(head, base)| pull.is_promotion_pr(head, base))
            {
                per_pair[at].push(pull);
            }
        }
        per_pair
            .into_iter()
            .zip(pairs)
            .map(|(mine, (head, base))| {
                self.pick(mine, head, base)
                    .with_context(|| self.pulls().find_context(head, base))
            })
            .collect()
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest> {
        let context = || {
            format!(
                "opening a pull request from `{}` into `{}` in {}",
                new.head, new.base, self.full_name
            )
        };
        let body = wire::CreatePull {
            source_ref_name: wire::full_ref(&new.head),
            target_ref_name: wire::full_ref(&new.base),
            title: &new.title,
            description: &new.body,
        };
        let path = self.url("/pullrequests", "");
        // Pull Requests - Create: 200/201 with the GitPullRequest. Never sent twice: a create
        // that may have happened is looked up instead.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/create?view=azure-devops-rest-7.1
        // An active PR for the same source and target: 409 "TF401179: An active pull request for
        // the source and target branch already exists." (observed) — adopt it. The REST API opens
        // a PR even when the source has nothing the target lacks (the web UI refuses), so there
        // is no "no changes" refusal to recognise.
        let refusals = CreateRefusals::new(409, |_, _| false);
        match self.write::<wire::Pull>(Method::Post, &path, &body, Retry::NotBlindly) {
            Ok(pull) => self.domain(pull).with_context(context),
            Err(error) => {
                refusals.adopt_existing(error, new, || self.find(&new.head, &new.base), &context)
            }
        }
    }

    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest> {
        let path = self.url(&format!("/pullrequests/{}", number.0), "");
        let text = wire::UpdateText {
            title,
            description: body,
        };
        // Pull Requests - Update: PATCH sets the fields given; the same text twice is one change.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/update?view=azure-devops-rest-7.1
        let pull: wire::Pull = self
            .write(Method::Patch, &path, &text, Retry::Idempotent)
            .with_context(|| {
                format!(
                    "updating {} in {}",
                    self.pulls().name(number),
                    self.full_name
                )
            })?;
        self.domain(pull)
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let context = || self.pulls().merge_context(number, head_sha);
        let path = self.url(&format!("/pullrequests/{}", number.0), "");
        let body = wire::Complete::merge_commit(head_sha, title, message);
        // Pull Requests - Update with `status: completed`: "To complete a pull request, set
        // lastMergeSourceCommit" and `completionOptions`. The answer is the PR: `completed` with
        // `lastMergeCommit`, or still `active` with `completionQueueTime` while the server merges.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/pull-requests/update?view=azure-devops-rest-7.1
        let error = match self.write::<wire::Pull>(Method::Patch, &path, &body, Retry::NotBlindly) {
            Ok(pull) => return Ok(self.await_completion(number, head_sha, pull)),
            Err(error) => error,
        };
        let text = error.message().unwrap_or_default().to_owned();
        match error.status() {
            // The source moved since `lastMergeSourceCommit`: 409 "TF401192: The source branch
            // has been modified since the last merge attempt." (observed in several client
            // projects; not in the REST reference).
            Some(409) if text.contains("TF401192") => Ok(MergeOutcome::HeadMoved),
            // 400 InvalidArgumentValueException (a stale or unknown commit id reads the same),
            // 409 other TF codes (TF401027 "policies are not met", conflicts), 403 (no "Contribute
            // to pull requests"/bypass permission): the PR says which it was.
            Some(400 | 409) => match self.reread(number, head_sha).with_context(context)? {
                Reread::Merged(merge_sha) => Ok(MergeOutcome::Merged { merge_sha }),
                Reread::HeadMoved => Ok(MergeOutcome::HeadMoved),
                Reread::Refused(reason) => Ok(MergeOutcome::Blocked { reason }),
                Reread::Closed | Reread::Open => Ok(MergeOutcome::Blocked {
                    reason: refusal(&text),
                }),
            },
            // No answer or a 5xx: the completion may have happened; the PR says.
            _ if error.is_ambiguous() => {
                match self.reread(number, head_sha).with_context(context)? {
                    Reread::Merged(merge_sha) => Ok(MergeOutcome::Merged { merge_sha }),
                    Reread::HeadMoved => Ok(MergeOutcome::HeadMoved),
                    Reread::Refused(reason) => Ok(MergeOutcome::Blocked { reason }),
                    Reread::Closed | Reread::Open => {
                        Err(anyhow::Error::new(error)).with_context(context)
                    }
                }
            }
            _ => Err(anyhow::Error::new(error)).with_context(context),
        }
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        let context = || {
            format!(
                "reading the commit statuses of {} in {}",
                sha.short(),
                self.full_name
            )
        };
        // Statuses - List: `latestOnly=true` keeps the newest per genre and name; `top`/`skip`.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/statuses/list?view=azure-devops-rest-7.1
        let mut statuses: Vec<wire::Status> = Vec::new();
        for page in 0..MAX_PAGES {
            let query = format!(
                "latestOnly=true&top={STATUS_PAGE_SIZE}&skip={}&",
                page * STATUS_PAGE_SIZE
            );
            let path = self.url(&format!("/commits/{sha}/statuses"), &query);
            let list: wire::List<wire::Status> = self
                .call(Method::Get, &path, None, Retry::Idempotent)
                .with_context(context)?;
            let count = list.value.len();
            statuses.extend(list.value);
            if count < STATUS_PAGE_SIZE {
                return Ok(wire::reduce(statuses));
            }
        }
        Err(anyhow::anyhow!(
            "more than {} pages of commit statuses",
            MAX_PAGES
        ))
        .with_context(context)
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        let body = wire::CreateStatus {
            state: wire::state_name(status.state),
            description: &status.description,
            target_url: status.target_url.as_deref(),
            context: wire::StatusContext {
                name: &status.context,
                genre: Some(wire::PROMOTER_GENRE),
            },
        };
        let path = self.url(&format!("/commits/{sha}/statuses"), "");
        // Statuses - Create: append-only, the newest per genre and name wins when read with
        // `latestOnly`, so a repeated write changes nothing a reader sees and may be resent.
        // https://learn.microsoft.com/en-us/rest/api/azure/devops/git/statuses/create?view=azure-devops-rest-7.1
        let _: serde_json::Value = self
            .write(Method::Post, &path, &body, Retry::Idempotent)
            .with_context(|| self.pulls().status_context(sha, status))?;
        Ok(())
    }
}

/// The reason shown for a refused completion of an active PR.
fn refusal(message: &str) -> String {
    // Branch policy "Limit merge types" without "Basic merge (no fast-forward)".
    // https://learn.microsoft.com/en-us/azure/devops/repos/git/branch-policies?view=azure-devops#limit-merge-types
    let lower = message.to_ascii_lowercase();
    if lower.contains("merge strategy") || lower.contains("merge type") {
        return format!(
            "the target branch's policies do not allow merge commits, which promoter needs: allow \"Basic merge (no fast-forward)\" under the branch policy \"Limit merge types\" (Azure DevOps said: {message})"
        );
    }
    if message.trim().is_empty() {
        return "Azure DevOps refused to complete the pull request without a reason".to_owned();
    }
    // TF401027 and others: policies not met (reviewers, builds, statuses), missing permissions.
    format!("Azure DevOps refused to complete the pull request: {message}")
}

/// The advice under a 2xx sign-in page.
fn sign_in_hint(token_source: Option<&str>) -> String {
    let variable = token_source.unwrap_or("the token variable");
    format!(
        "Azure DevOps did not accept the credential and sent its sign-in page: check that {variable} holds a valid personal access token (or System.AccessToken) for this organization"
    )
}

/// The advice shown under Azure DevOps errors.
fn hints(api_url: &str, repo: &RepoPath, has_token: bool, token_source: Option<String>) -> HintFn {
    let full_name = repo.full_name();
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    StatusHints {
        refused: format!(
            "Azure DevOps refused the token: check that {variable} holds a personal access token of this organization that has not expired"
        ),
        no_token: "no token was given: set PROMOTER_TOKEN, AZURE_DEVOPS_TOKEN or the variable named by scm.tokenEnv (a PAT, or $(System.AccessToken) in Azure Pipelines)"
            .to_owned(),
        forbidden: format!(
            "the token needs the scopes Code (Read & write) and Code (Status), and its identity the repository permissions Contribute and Contribute to pull requests on {full_name} (for System.AccessToken: the project's Build Service identity)"
        ),
        not_found: format!(
            "repository {full_name} (organization/project/repository) is not visible to this token, or scm.apiUrl ({api_url}) is wrong (https://dev.azure.com, without the organization)"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
