//! Bitbucket Cloud (REST 2.0, `https://api.bitbucket.org/2.0`) behind the [`Scm`] trait: which
//! endpoints, which answers mean what, and the re-reads after ambiguous or unclear answers
//! (<https://developer.atlassian.com/cloud/bitbucket/rest/api-group-pullrequests/>,
//! `api-group-commit-statuses`, `api-group-commits`, `api-group-issue-tracker`). Wire shapes are
//! in `wire.rs`; sending and retrying are in `http.rs`. `repository.owner` is the workspace,
//! `repository.name` the repository slug.
//!
//! Decisions where docs/design.md is silent:
//! - PR lookup filters server-side with BBQL (`q=source.branch.name="A" AND
//!   destination.branch.name="B"`, `state=OPEN`), reads every page by following `next`, and checks
//!   branches, state and repository again client-side (never a fork's PR).
//! - Pull request answers show the source commit as a 12-character short hash. A PR returned to
//!   the planner carries a full SHA, so the short hash is resolved with one
//!   `GET /commit/{hash}` (remembered for the run: an update of the same PR asks nothing more).
//! - The merge request carries no head SHA (descriptor `merge_guarded_by_head_sha: false`). So
//!   `merge` reads the PR right before merging and answers `HeadMoved` if its source moved off the
//!   SHA whose gates were read; after the merge it reads the merge commit and checks that its
//!   second parent is that SHA, failing loudly (naming both) when it is not. Between the read and
//!   the merge is a window of one request in which a push goes unnoticed until the check after;
//!   docs/bitbucket.md says so.
//! - A merge answered 202 (Bitbucket runs it as a task when it takes long) is polled at its
//!   `Location` until the task says `SUCCESS`.
//! - Commit statuses are written to `POST /commit/{sha}/statuses/build`, which overwrites the
//!   status of the same `key` (so it may be resent). `url` is required: without one promoter
//!   links the repository's page.

mod issues;
mod wire;

use std::collections::BTreeMap;
use std::sync::Mutex;

use anyhow::{Context, anyhow};
use serde::de::DeserializeOwned;

use super::http::{
    Answer, Auth, HintFn, HttpClient, HttpError, HttpOptions, Method, Retry, StatusHints,
};
use super::registry::{
    ApiUrls, CiRepository, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls,
};
use super::shared::{Pulls, refuse_failing_previous};
use super::{
    CreateRefusals, MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport,
    StatusWrite, encode,
};
use crate::ci_env::var;
use crate::model::{BranchName, PrNumber, Secret, Sha};

/// Title and description limits. Bitbucket documents none for the API; its web form keeps titles
/// to 255 characters (the `title` column), and the description is cut at GitLab's 1 MiB so a
/// runaway commit body never meets a request size limit instead.
pub(crate) const TEXT_LIMITS: super::TextLimits = super::TextLimits {
    title: 255,
    body: 1_048_576,
};

/// The public API and its web address.
const PUBLIC_API: &str = "https://api.bitbucket.org/2.0";
const PUBLIC_WEB: &str = "https://bitbucket.org";
/// Items asked for per page: `pagelen` goes up to 50 for pull requests and 100 for most other
/// lists (<https://developer.atlassian.com/cloud/bitbucket/rest/intro/#pagination>).
const PULL_PAGE: usize = 50;
const STATUS_PAGE: usize = 100;
/// The longest commit status `key` Bitbucket accepts (a longer one is refused; upstream
/// gitops-promoter cuts its keys to this length, `bitbucket_cloud/commit_status.go`).
const MAX_STATUS_KEY: usize = 40;
/// Polls of a merge task answered 202 before giving up (the PR is re-read next pass).
const MAX_TASK_POLLS: u32 = 10;

/// What Bitbucket Cloud is to the rest of promoter (docs/design.md §7).
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    name: "bitbucket",
    product: "Bitbucket Cloud",
    default_token_env: "BITBUCKET_TOKEN",
    // Access tokens clone as `x-token-auth` ("Using access tokens",
    // https://support.atlassian.com/bitbucket-cloud/docs/using-access-tokens/); with
    // `scm.usernameEnv` (app password, API token) git sends that user name instead.
    git_username: "x-token-auth",
    pr_noun: "pull request",
    pr_sigil: '#',
    text_limits: TEXT_LIMITS,
    // pullrequest_merge_parameters has no expected-head field: `merge` guards itself.
    merge_guarded_by_head_sha: false,
    pr_labels: false,
    issues: true,
    api: ApiUrls {
        default_url: Some(PUBLIC_API),
        suffix: "/2.0",
        public_host: Some((PUBLIC_API, PUBLIC_WEB)),
    },
    // Bitbucket Pipelines: BITBUCKET_REPO_FULL_NAME is `workspace/repo-slug`
    // (https://support.atlassian.com/bitbucket-cloud/docs/variables-and-secrets/).
    ci: CiVariables {
        name: "Bitbucket Pipelines",
        api_url: None,
        server_url: None,
        repository: Some(CiRepository {
            variables: "BITBUCKET_REPO_FULL_NAME",
            read: |env| {
                super::registry::owner_slash_name(env, "BITBUCKET_REPO_FULL_NAME").or_else(|| {
                    Some((
                        var(env, "BITBUCKET_WORKSPACE")?,
                        var(env, "BITBUCKET_REPO_SLUG")?,
                    ))
                })
            },
        }),
    },
    owner: OwnerShape::One,
    web: WebUrls {
        repository: super::registry::web::repository_under,
        clone: super::registry::web::dot_git,
        // `https://bitbucket.org/{ws}/{slug}/commits/{sha}`.
        commit: |page, sha| format!("{page}/commits/{sha}"),
        // `…/branches/compare/{to}%0D{from}`: the changes on `to` since the merge base.
        compare: |page, from, to| format!("{page}/branches/compare/{to}%0D{from}#diff"),
    },
    connect,
};

fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    Ok(Box::new(Bitbucket::new(
        connect.api_url,
        connect.repository,
        connect.token,
        connect.username,
        connect.http,
    )?))
}

/// A Bitbucket Cloud repository seen through one credential.
#[derive(Debug)]
pub(crate) struct Bitbucket {
    http: HttpClient,
    repo: RepoPath,
    /// `workspace/slug`, compared case-insensitively with `repository.full_name`.
    full_name: String,
    /// The repository's page (status links when promoter has none).
    page: String,
    /// Short hashes resolved in this run.
    resolved: Mutex<BTreeMap<String, Sha>>,
}

impl Bitbucket {
    /// `api_url`: `https://api.bitbucket.org/2.0` (the default). `username`: with one, the token is
    /// an app password or API token sent as HTTP Basic; without, an access token sent as Bearer.
    pub(crate) fn new(
        api_url: &str,
        repo: &RepoPath,
        token: Option<Secret>,
        username: Option<String>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let hint = hints(
            api_url,
            repo,
            token.is_some(),
            username.is_some(),
            options.token_source.clone(),
        );
        // https://developer.atlassian.com/cloud/bitbucket/rest/intro/#authentication: access
        // tokens as `Authorization: Bearer`; app passwords and API tokens as Basic with the user.
        let auth = token.map(|token| match &username {
            Some(user) => Auth::basic(user, &token),
            None => Auth::bearer(token),
        });
        let http = HttpClient::new(api_url, auth, options)
            .with_context(|| format!("setting up the Bitbucket Cloud client for {api_url}"))?
            .with_header("accept", "application/json")
            .with_hint(hint);
        let web = match api_url.trim_end_matches('/') {
            PUBLIC_API => PUBLIC_WEB.to_owned(),
            other => other.strip_suffix("/2.0").unwrap_or(other).to_owned(),
        };
        Ok(Self {
            http,
            repo: repo.clone(),
            full_name: repo.full_name(),
            page: super::registry::web::repository_under(&web, repo),
            resolved: Mutex::new(BTreeMap::new()),
        })
    }

    /// `/repositories/{workspace}/{slug}`, each segment encoded.
    fn repo_path(&self) -> String {
        format!("/repositories/{}", self.repo.encoded_segments())
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&PROVIDER, &self.http, &self.full_name)
    }

    /// GET `path` and every page its `next` links lead to. `next` is a full URL; it must stay
    /// under the API root (the credential goes nowhere else).
    fn get_all<T: DeserializeOwned>(
        &self,
        path: &str,
        mut each: impl FnMut(T),
    ) -> anyhow::Result<()> {
        let mut path = path.to_owned();
        for _ in 0..50 {
            let page: wire::Page<T> = self.http.get_json(&path)?;
            page.values.into_iter().for_each(&mut each);
            let Some(next) = page.next else {
                return Ok(());
            };
            let base = self.http.base();
            path = match next.strip_prefix(base) {
                Some(rest) if rest.starts_with('/') => rest.to_owned(),
                _ => {
                    let shown = next.split('?').next().unwrap_or_default();
                    return Err(anyhow!(
                        "GET {path}: the next-page link leaves {base}: {}",
                        crate::untrusted::one_line(shown)
                    ));
                }
            };
        }
        Err(anyhow!("GET {path}: more than 50 pages"))
    }

    /// The full SHA of `hash` as a PR shows it: as is when it is whole, else from this run's
    /// memory, else `GET /commit/{hash}` (api-group-commits, "Get a commit", which takes any
    /// unambiguous prefix).
    fn resolve(&self, hash: &str) -> anyhow::Result<Sha> {
        if let Ok(sha) = Sha::parse(hash) {
            return Ok(sha);
        }
        let key = hash.to_ascii_lowercase();
        if let Some(sha) = lock(&self.resolved).get(&key) {
            return Ok(sha.clone());
        }
        let commit = self.commit(hash)?;
        let sha = Sha::parse(&commit.hash)
            .map_err(|e| anyhow!("commit {hash} of {} has no full hash: {e}", self.full_name))?;
        lock(&self.resolved).insert(key, sha.clone());
        Ok(sha)
    }

    fn commit(&self, hash: &str) -> anyhow::Result<wire::Commit> {
        let path = format!("{}/commit/{}", self.repo_path(), encode(hash));
        self.http
            .get_json(&path)
            .with_context(|| format!("reading commit {hash} in {}", self.full_name))
    }

    /// The domain PR of a wire one, its source hash resolved.
    fn domain(&self, pull: wire::Pull) -> anyhow::Result<PullRequest> {
        let number = pull.id;
        let hash = pull
            .source
            .hash()
            .ok_or_else(|| anyhow!("pull request #{number} shows no source commit"))?
            .to_owned();
        let head = self.resolve(&hash)?;
        wire::into_domain(pull, head)
            .map_err(|e| anyhow!("pull request #{number} has an unexpected shape: {e}"))
    }

    fn pull_path(&self, number: PrNumber) -> String {
        format!("{}/pullrequests/{}", self.repo_path(), number.0)
    }

    fn get_pull(&self, number: PrNumber) -> anyhow::Result<wire::Pull> {
        // "Get a pull request": `GET /repositories/{ws}/{slug}/pullrequests/{id}`.
        Ok(self.http.get_json(&self.pull_path(number))?)
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        // "List pull requests": `state` filters, `q` takes BBQL
        // (https://developer.atlassian.com/cloud/bitbucket/rest/intro/#filtering): string
        // literals in double quotes, `"` and `\` escaped with `\`.
        let query = format!(
            "source.branch.name = {} AND destination.branch.name = {}",
            bbql_string(head.as_str()),
            bbql_string(base.as_str())
        );
        let path = format!(
            "{}/pullrequests?state=OPEN&pagelen={PULL_PAGE}&q={}",
            self.repo_path(),
            encode(&query)
        );
        let mut found: Vec<wire::Pull> = Vec::new();
        self.get_all(&path, |pull: wire::Pull| {
            // The filter is checked again here: never a fork's PR, never another state.
            if pull.is_promotion_pr(&self.full_name, head, base) {
                found.push(pull);
            }
        })?;
        // Bitbucket keeps one open PR per source and destination; the lowest id decides anyway.
        match found.into_iter().min_by_key(|p| p.id) {
            Some(pull) => Ok(Some(self.domain(pull)?)),
            None => Ok(None),
        }
    }

    /// The merge commit's second parent must be the SHA whose gates were read: Bitbucket merged
    /// whatever the source was at that moment.
    fn check_merge(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        merge_hash: &str,
    ) -> anyhow::Result<Sha> {
        let commit = self.commit(merge_hash).with_context(|| {
            format!(
                "checking the merge of pull request #{number} in {} (merged: look at its merge commit {merge_hash} by hand)",
                self.full_name
            )
        })?;
        let merge_sha = Sha::parse(&commit.hash)
            .map_err(|e| anyhow!("merge commit {merge_hash} has no full hash: {e}"))?;
        let second = commit.parents.get(1).map(|p| p.hash.as_str());
        match second {
            Some(parent) if wire::names(parent, head_sha) => Ok(merge_sha),
            _ => Err(anyhow!(
                "Bitbucket merged pull request #{number} in {} as {merge_sha}, but its second parent is {} and not {head_sha}, the commit whose gates were read: a push reached the staging branch between promoter's last read and the merge, and commits nobody gated are now live; check the live branch and revert what should not be there",
                self.full_name,
                second.unwrap_or("(none: not a merge commit)"),
            )),
        }
    }

    /// After a merge answer that does not say what happened: the PR shows whether it merged, was
    /// declined, or moved on.
    fn reread(&self, number: PrNumber, head_sha: &Sha) -> anyhow::Result<Reread> {
        let pull = self.get_pull(number).with_context(|| {
            format!("re-reading pull request #{number} to see whether it merged")
        })?;
        if pull.is_merged() {
            return Ok(Reread::Merged(pull.merge_commit.map(|c| c.hash)));
        }
        if !pull.is_open() {
            return Ok(Reread::Closed(pull.state));
        }
        if !pull.source.hash().is_some_and(|h| wire::names(h, head_sha)) {
            return Ok(Reread::HeadMoved);
        }
        Ok(Reread::Open)
    }

    /// A merge that happened: check its merge commit (when the answer names one).
    fn merged(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        merge_hash: Option<String>,
    ) -> anyhow::Result<MergeOutcome> {
        // An answer without the merge commit: the PR read once more shows it.
        let merge_hash = match merge_hash {
            Some(hash) => Some(hash),
            None => self.get_pull(number)?.merge_commit.map(|c| c.hash),
        };
        let Some(hash) = merge_hash else {
            return Err(anyhow!(
                "Bitbucket says pull request #{number} in {} is merged but names no merge commit, so promoter cannot check that it merged {head_sha}; check the live branch",
                self.full_name
            ));
        };
        let merge_sha = self.check_merge(number, head_sha, &hash)?;
        Ok(MergeOutcome::Merged {
            merge_sha: Some(merge_sha),
        })
    }

    /// Polls the task a merge answered 202 with (`Location`:
    /// `…/pullrequests/{id}/merge/task-status/{task_id}`).
    fn wait_for_task(&self, number: PrNumber, answer: &Answer) -> anyhow::Result<wire::Pull> {
        let location = answer.header("location").ok_or_else(|| {
            anyhow!("the merge of pull request #{number} answered 202 without a Location")
        })?;
        let base = self.http.base();
        let path = match location.strip_prefix(base) {
            Some(rest) => rest.to_owned(),
            None if location.starts_with('/') => location
                .strip_prefix(self.http.base_path())
                .unwrap_or(location)
                .to_owned(),
            None => {
                return Err(anyhow!(
                    "the merge task of pull request #{number} is at {}, outside {base}",
                    crate::untrusted::one_line(location.split('?').next().unwrap_or_default())
                ));
            }
        };
        for poll in 0..MAX_TASK_POLLS {
            let task: wire::MergeTask = self.http.get_json(&path)?;
            match (task.task_status.as_str(), task.merge_result) {
                ("SUCCESS", Some(pull)) => return Ok(pull),
                ("SUCCESS", None) => return self.get_pull(number),
                // The wait counts against the run's `--max-wait` like every other.
                _ => {
                    if !self.http.pause(self.http.options().backoff * (poll + 1)) {
                        break;
                    }
                }
            }
        }
        Err(anyhow!(
            "the merge of pull request #{number} is still running (Bitbucket merges it as a task); the next pass sees whether it merged"
        ))
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A BBQL string literal: double quotes, `\` and `"` escaped.
fn bbql_string(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// What a re-read PR shows after an unclear merge answer.
#[derive(Debug, PartialEq, Eq)]
enum Reread {
    /// With the merge commit's (short) hash when shown.
    Merged(Option<String>),
    /// Declined or superseded.
    Closed(String),
    HeadMoved,
    Open,
}

impl Scm for Bitbucket {
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
        // "List pull requests" without `q`: every open PR of the repository, paged by `next`
        // (docs/performance.md, "Batched reads"); each pair is picked with `find`'s checks, and
        // only the PRs picked have their short hash resolved.
        let path = format!(
            "{}/pullrequests?state=OPEN&pagelen={PULL_PAGE}",
            self.repo_path()
        );
        let mut per_pair: Vec<Vec<wire::Pull>> = pairs.iter().map(|_| Vec::new()).collect();
        let listed = self.get_all(&path, |pull: wire::Pull| {
            if let Some(at) = pairs
                .iter()
                .position(|(head, base)| pull.is_promotion_pr(&self.full_name, head, base))
            {
                per_pair[at].push(pull);
            }
        });
        if let Err(error) = listed {
            return super::shared_failure(
                error.context(format!(
                    "listing the open pull requests of {}",
                    self.full_name
                )),
                pairs.len(),
            );
        }
        per_pair
            .into_iter()
            .zip(pairs)
            .map(|(found, (head, base))| {
                // Bitbucket keeps one open PR per source and destination; the lowest id decides.
                match found.into_iter().min_by_key(|p| p.id) {
                    Some(pull) => self.domain(pull).map(Some),
                    None => Ok(None),
                }
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
        let body =
            wire::CreatePull::new(new.head.as_str(), new.base.as_str(), &new.title, &new.body);
        let path = format!("{}/pullrequests", self.repo_path());
        // "Create a pull request": 201 pullrequest; 400 for invalid input, e.g. a source with
        // nothing the destination lacks ("There are no changes to be pulled", observed). What a
        // second create for the same branches answers is not documented: any 400 that is not
        // "no changes" looks the PR up before failing, and a create that may have happened is
        // never sent twice (adopt_existing).
        let refusals = CreateRefusals::new(400, |status, message| {
            status == 400 && message.to_ascii_lowercase().contains("no changes")
        });
        match self
            .http
            .send_json::<wire::Pull>(Method::Post, &path, &body, Retry::NotBlindly)
        {
            Ok(pull) => self.domain(pull).with_context(context),
            Err(error) if error.status() == Some(400) && !is_no_changes(&error) => {
                match self.find(&new.head, &new.base).with_context(context)? {
                    Some(pr) => Ok(pr),
                    None => Err(anyhow::Error::new(error)).with_context(context),
                }
            }
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
        // "Update a pull request": `PUT`, `title` required even when unchanged; the same text
        // twice leaves the same PR, so it may be resent. Reviewers are not sent (see
        // docs/bitbucket.md, known limits).
        let pull: wire::Pull = self
            .http
            .send_json(
                Method::Put,
                &self.pull_path(number),
                &wire::UpdatePull {
                    title,
                    description: body,
                },
                Retry::Idempotent,
            )
            .with_context(|| format!("updating pull request #{number} in {}", self.full_name))?;
        self.domain(pull)
            .with_context(|| format!("reading the updated pull request #{number}"))
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let context = || self.pulls().merge_context(number, head_sha);
        // The guard Bitbucket's merge lacks: the source must still be the SHA whose gates were
        // read, read right before merging.
        match self.reread(number, head_sha).with_context(context)? {
            Reread::Open => {}
            Reread::HeadMoved => return Ok(MergeOutcome::HeadMoved),
            // Merged by someone else since the lookup: not promoter's merge, nothing to check.
            Reread::Merged(_) => return Ok(MergeOutcome::Merged { merge_sha: None }),
            Reread::Closed(state) => {
                return Err(anyhow!(
                    "pull request #{number} is {state} without being merged; promoter opens a new one next pass if it is still needed"
                ))
                .with_context(context);
            }
        }
        let full = if message.is_empty() {
            title.to_owned()
        } else {
            format!("{title}\n\n{message}")
        };
        let path = format!("{}/merge", self.pull_path(number));
        let body = serde_json::to_value(wire::MergePull::merge_commit(&full))
            .expect("wire bodies serialise");
        // "Merge a pull request": 200 pullrequest (MERGED, `merge_commit`); 202 with a Location
        // to poll when the merge runs long; 409 when a ref changed while merging; 400 when merge
        // checks or the strategy refuse; 555 when it timed out.
        let error = match self
            .http
            .send(Method::Post, &path, Some(&body), Retry::NotBlindly)
        {
            Ok(answer) => {
                let pull: wire::Pull = if answer.status == 202 {
                    self.wait_for_task(number, &answer).with_context(context)?
                } else {
                    serde_json::from_str(&answer.body)
                        .map_err(|e| {
                            anyhow!("POST {path} answered a body that is not a pullrequest: {e}")
                        })
                        .with_context(context)?
                };
                let hash = pull.merge_commit.map(|c| c.hash);
                return self.merged(number, head_sha, hash).with_context(context);
            }
            Err(error) => error,
        };
        let text = error.message().unwrap_or_default().to_owned();
        match error.status() {
            // "One of the refs involved changed while attempting to merge": the source or the
            // destination moved. Nothing merged; the next pass observes again (as a moved head).
            Some(409) => Ok(MergeOutcome::HeadMoved),
            Some(400) | Some(403) => Ok(MergeOutcome::Blocked {
                reason: refusal(&text),
            }),
            // No answer, a 5xx or Bitbucket's 555 (timed out): the merge may have happened.
            _ if error.is_ambiguous() || error.status() == Some(404) => {
                match self.reread(number, head_sha).with_context(context)? {
                    Reread::Merged(hash) => {
                        self.merged(number, head_sha, hash).with_context(context)
                    }
                    Reread::HeadMoved => Ok(MergeOutcome::HeadMoved),
                    _ => Err(anyhow::Error::new(error)).with_context(context),
                }
            }
            _ => Err(anyhow::Error::new(error)).with_context(context),
        }
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        // "List commit statuses for a commit": paged, one status per key (a post overwrites it).
        let path = format!(
            "{}/commit/{sha}/statuses?pagelen={STATUS_PAGE}",
            self.repo_path()
        );
        let mut statuses = Vec::new();
        self.get_all(&path, |status: wire::CommitStatus| statuses.push(status))
            .with_context(|| {
                format!(
                    "reading the commit statuses of {} in {}",
                    sha.short(),
                    self.full_name
                )
            })?;
        Ok(wire::reduce(statuses))
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        // A cut key would be another gate when read back, so a long one is refused by name.
        let length = status.context.chars().count();
        if length > MAX_STATUS_KEY {
            return Err(anyhow!(
                "Bitbucket Cloud keeps commit status keys to {MAX_STATUS_KEY} characters and `{}` has {length}: shorten this gate key in promotion.yaml",
                status.context
            ))
            .with_context(|| self.pulls().status_context(sha, status));
        }
        // `url` is required ("Create a build status for a commit"); without a link of its own the
        // status points at the repository's page.
        let url = status.target_url.as_deref().unwrap_or(&self.page);
        let body = wire::CreateStatus {
            key: &status.context,
            state: wire::write_state(status.state),
            name: &status.context,
            description: &status.description,
            url,
        };
        let path = format!("{}/commit/{sha}/statuses/build", self.repo_path());
        // 201 commitstatus; an existing key is overwritten, so a resend changes nothing.
        self.pulls()
            .post_status::<serde_json::Value>(&path, &body, sha, status)
    }
}

fn is_no_changes(error: &HttpError) -> bool {
    error
        .message()
        .is_some_and(|m| m.to_ascii_lowercase().contains("no changes"))
}

/// The reason shown for a 400/403 merge refusal.
fn refusal(message: &str) -> String {
    // The strategy must be allowed on the destination branch (branch restrictions, "Merge
    // strategies" in the repository settings).
    if message.to_ascii_lowercase().contains("strateg") {
        return format!(
            "the destination branch does not allow merge commits, which promoter needs: allow the `Merge commit` strategy in Repository settings → Merge strategies (Bitbucket said: {message})"
        );
    }
    if message.trim().is_empty() {
        return "Bitbucket Cloud refused the merge without a reason".to_owned();
    }
    format!("Bitbucket Cloud refused the merge (merge checks, approvals or permissions): {message}")
}

/// The advice shown under Bitbucket errors: which token permission is missing.
fn hints(
    api_url: &str,
    repo: &RepoPath,
    has_token: bool,
    basic: bool,
    token_source: Option<String>,
) -> HintFn {
    let full_name = repo.full_name();
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    let refused = if basic {
        format!(
            "Bitbucket refused the user name (scm.usernameEnv) and password in {variable}: check both; app passwords are deprecated by Atlassian, use an access token or an API token"
        )
    } else {
        format!(
            "Bitbucket refused the token in {variable}: check that it is a valid, unexpired access token (an app password or API token also needs scm.usernameEnv)"
        )
    };
    StatusHints {
        refused,
        no_token: "no token was given: set PROMOTER_TOKEN, BITBUCKET_TOKEN or the variable named by scm.tokenEnv".to_owned(),
        forbidden: format!(
            "the token lacks a permission on {full_name}: it needs `pullrequest:write` (open, update, merge), `repository:write` (commit statuses) and `issue:write` (dashboard)"
        ),
        not_found: format!(
            "repository {full_name} (workspace/repository slug) is not visible to this token, or scm.apiUrl ({api_url}) is wrong"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
