//! GitLab (gitlab.com, self-managed, Dedicated; REST v4) behind the [`Scm`] trait: which
//! endpoints, which answers mean what, and the re-reads after ambiguous writes. Wire shapes are in
//! `wire.rs`; sending, retrying and waiting are in `http.rs`.
//!
//! The project is addressed by its URL-encoded full path (`group%2Fsubgroup%2Fdeploy`, docs
//! rest/index.md "Namespaced paths"; a raw `/` is a 404), so `repository.owner` may be a nested
//! group path. Merge requests are addressed by `iid`, the per-project number people see (`!12`).
//!
//! Requests per operation (for request budgets):
//! - find: `GET /projects/:id/merge_requests?state=opened&source_branch=…&target_branch=…&per_page=100`
//! - create: `POST /projects/:id/merge_requests` (+ the find above after a 409 or an ambiguous failure)
//! - update: `PUT /projects/:id/merge_requests/:iid`
//! - merge: `PUT /projects/:id/merge_requests/:iid/merge` (+ `GET /projects/:id/merge_requests/:iid`
//!   after a refusal or an ambiguous failure)
//! - gate read: `GET /projects/:id/repository/commits/:sha/statuses?per_page=100`, and
//!   `GET /projects/:id/pipelines?sha=…&order_by=id&sort=desc&per_page=1` unless turned off
//!   ([`GitLab::reading_pipeline`])
//! - status write: `POST /projects/:id/statuses/:sha`
//!
//! Decisions where docs/design.md is silent:
//! - A merge request is the environment's only if it is open, has exactly these branches, and its
//!   `source_project_id` equals its `target_project_id` (a fork's MR never is).
//! - Gate reads: the newest status per name (highest `id`); CI jobs appear there by job name. A
//!   `failed` job with `allow_failure: true` counts as success, since it does not fail its pipeline.
//!   The newest pipeline of the SHA is one more report named `pipeline` (a status really named
//!   `pipeline` wins). `skipped` counts as success, `manual` as pending (see `wire::gitlab_state`).
//! - Status writes use GitHub's 140-character description cut, like every provider, so the
//!   planner's comparison holds. GitLab's commit statuses are a state machine: posting the state a
//!   pending or running status already has is refused with 400 "Cannot transition status via
//!   :enqueue from :pending"; that answer is success (the state is already there; docs/design.md §7). Its
//!   description then stays as first written until the state changes (GitLab offers no way to
//!   change it in place).
//! - Merge refusals: 409 → `HeadMoved`; 405, 406 and 422 re-read the merge request (one merged
//!   meanwhile also answers 405 and counts as merged) and else are `Blocked` with the reason from
//!   `detailed_merge_status`; 401/403 and anything else are errors with a hint.

mod issues;
mod wire;

use anyhow::Context;

use super::http::{Auth, HintFn, HttpClient, HttpOptions, Method, Retry, StatusHints};
use super::registry::{
    ApiUrls, CiRepository, CiVariables, Connect, OwnerShape, ProviderInfo, WebUrls,
    owner_slash_name, web,
};
use super::shared::{Pulls, refuse_failing_previous};
use super::{
    MergeOutcome, NewPullRequest, PullRequest, RepoPath, Scm, StatusReport, StatusWrite,
    cut_description, encode,
};
use crate::model::{BranchName, PrNumber, Secret, Sha};

pub(crate) use wire::PIPELINE_REPORT;

/// Merge request title and description limits: GitLab validates every issuable with
/// `TITLE_LENGTH_MAX = 255` and `DESCRIPTION_LENGTH_MAX = 1.megabyte` characters
/// (app/models/concerns/issuable.rb) and answers 400 "is too long (maximum is … characters)".
pub(crate) const TEXT_LIMITS: super::TextLimits = super::TextLimits {
    title: 255,
    body: 1_048_576,
};

/// What GitLab is to the rest of promoter (docs/design.md §7).
pub(crate) const PROVIDER: ProviderInfo = ProviderInfo {
    name: "gitlab",
    product: "GitLab",
    default_token_env: "GITLAB_TOKEN",
    // Any user name works with a personal/project access token; "oauth2" is the documented one
    // (docs user/project/settings/project_access_tokens.md).
    git_username: "oauth2",
    pr_noun: "merge request",
    pr_sigil: '!',
    text_limits: TEXT_LIMITS,
    // Docs merge_requests.md "Merge a merge request": `sha`, "if present, then this SHA must match
    // the HEAD of the source branch, otherwise the merge fails" (409).
    merge_guarded_by_head_sha: true,
    pr_labels: true,
    issues: true,
    api: ApiUrls {
        default_url: Some("https://gitlab.com/api/v4"),
        suffix: "/api/v4",
        public_host: None,
    },
    // Docs ci/variables/predefined_variables.md.
    ci: CiVariables {
        name: "GitLab CI",
        api_url: Some("CI_API_V4_URL"),
        server_url: Some("CI_SERVER_URL"),
        repository: Some(CiRepository {
            variables: "CI_PROJECT_PATH",
            read: |env| owner_slash_name(env, "CI_PROJECT_PATH"),
        }),
    },
    owner: OwnerShape::Nested {
        what: "namespace paths (`group/subgroup`)",
    },
    web: WebUrls {
        repository: web::repository_under,
        clone: web::dot_git,
        commit: commit_url,
        compare: compare_url,
    },
    connect,
};

/// GitLab routes project pages under `/-/`.
fn commit_url(repository_page: &str, sha: &Sha) -> String {
    format!("{repository_page}/-/commit/{sha}")
}

fn compare_url(repository_page: &str, from: &Sha, to: &Sha) -> String {
    format!("{repository_page}/-/compare/{from}...{to}")
}

/// The pipeline is read only when a gate is named after it: one request less per gate read.
fn connect(connect: Connect<'_>) -> anyhow::Result<Box<dyn Scm>> {
    Ok(Box::new(
        GitLab::new(
            connect.api_url,
            connect.repository,
            connect.token,
            connect.http,
        )?
        .reading_pipeline((connect.has_gate)(PIPELINE_REPORT)),
    ))
}

/// A GitLab project seen through one token.
#[derive(Debug)]
pub(crate) struct GitLab {
    http: HttpClient,
    /// `/projects/group%2Fsub%2Fdeploy`.
    project: String,
    /// `group/sub/deploy`, for messages.
    full_path: String,
    /// Whether gate reads also ask for the commit's newest pipeline (the `pipeline` report).
    read_pipeline: bool,
}

impl GitLab {
    /// `api_url`: `https://gitlab.com/api/v4` or `https://HOST[/root]/api/v4`. The path's owner is
    /// the full namespace path (`group/subgroup`), its name the project path.
    pub(crate) fn new(
        api_url: &str,
        repo: &RepoPath,
        token: Option<Secret>,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let full_path = repo.full_name();
        let hint = hints(
            api_url,
            &full_path,
            token.is_some(),
            options.token_source.clone(),
        );
        // Docs rest/authentication.md: personal, project and group access tokens go in the
        // `PRIVATE-TOKEN` header.
        let http = HttpClient::new(api_url, token.map(Auth::private_token), options)
            .with_context(|| format!("setting up the GitLab client for {api_url}"))?
            .with_hint(hint);
        Ok(Self {
            http,
            project: format!("/projects/{}", repo.encoded_whole()),
            full_path,
            read_pipeline: true,
        })
    }

    /// Whether [`Scm::status_reports`] also reads the commit's newest pipeline as the report
    /// named [`PIPELINE_REPORT`] (on by default). That is a second request per gate read, so a
    /// pass whose configuration has no gate of that name turns it off.
    pub(crate) fn reading_pipeline(mut self, read: bool) -> Self {
        self.read_pipeline = read;
        self
    }

    fn mr_path(&self, number: PrNumber) -> String {
        format!("{}/merge_requests/{}", self.project, number.0)
    }

    fn get_mr(&self, number: PrNumber) -> anyhow::Result<wire::MergeRequest> {
        Ok(self.http.get_json(&self.mr_path(number))?)
    }

    fn find(&self, head: &BranchName, base: &BranchName) -> anyhow::Result<Option<PullRequest>> {
        // Docs merge_requests.md "List project merge requests": `state`, `source_branch` and
        // `target_branch` filter server-side; the answer is checked again below, forks included.
        let path = format!(
            "{}/merge_requests?state=opened&source_branch={}&target_branch={}&per_page=100",
            self.project,
            encode(head.as_str()),
            encode(base.as_str()),
        );
        let mut found: Vec<wire::MergeRequest> = Vec::new();
        self.http
            .get_pages(&path, |page: Vec<wire::MergeRequest>| {
                found.extend(page.into_iter().filter(|mr| mr.is_promotion_mr(head, base)));
            })?;
        // GitLab refuses a second open MR for one source branch (409).
        self.pulls().lowest(found)
    }

    fn pulls(&self) -> Pulls<'_> {
        Pulls::new(&PROVIDER, &self.http, &self.full_path)
    }

    /// After a merge answer that does not say what happened: the merge request shows it.
    fn merge_outcome_from_mr(
        &self,
        number: PrNumber,
        head_sha: &Sha,
    ) -> anyhow::Result<(Option<MergeOutcome>, wire::MergeRequest)> {
        let mr = self.get_mr(number).with_context(|| {
            format!(
                "re-reading merge request !{} to see whether it merged",
                number.0
            )
        })?;
        if mr.state == "merged" {
            let merge_sha = mr
                .merge_commit_sha
                .as_deref()
                .and_then(|s| Sha::parse(s).ok());
            return Ok((Some(MergeOutcome::Merged { merge_sha }), mr));
        }
        if mr
            .head_sha()
            .is_some_and(|sha| !sha.eq_ignore_ascii_case(head_sha.as_str()))
        {
            return Ok((Some(MergeOutcome::HeadMoved), mr));
        }
        Ok((None, mr))
    }
}

impl Scm for GitLab {
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
        // Docs merge_requests.md "List project merge requests"
        // (https://docs.gitlab.com/api/merge_requests/#list-project-merge-requests): without
        // `source_branch`/`target_branch` every opened merge request of the project, `per_page`
        // at most 100, paged by `link`. Picked per pair with the same checks as a single lookup.
        let path = format!("{}/merge_requests?state=opened&per_page=100", self.project);
        let mut listed: Vec<wire::MergeRequest> = Vec::new();
        match self
            .http
            .get_pages(&path, |page: Vec<wire::MergeRequest>| listed.extend(page))
        {
            Ok(()) => super::pick_pairs(&self.pulls(), listed, pairs, |mr, head, base| {
                mr.is_promotion_mr(head, base)
            }),
            Err(error) => super::shared_failure(
                anyhow::Error::new(error).context(format!(
                    "listing the open merge requests of {}",
                    self.full_path
                )),
                pairs.len(),
            ),
        }
    }

    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest> {
        let body = wire::CreateMergeRequest {
            source_branch: new.head.as_str(),
            target_branch: new.base.as_str(),
            title: &new.title,
            description: &new.body,
            remove_source_branch: false,
        };
        let path = format!("{}/merge_requests", self.project);
        // A create that may have happened is never sent twice: it is looked up instead.
        // 409 `{"message":["Another open merge request already exists for this source branch: !12"]}`
        // (observed; `message` is an array; GitLab docs doc/api/merge_requests.md "Create MR"):
        // adopt that one.
        // Docs merge_requests.md "Create MR" documents no answer for a source branch already in
        // the target, and GitLab may accept such a merge request (gitlab-ce!24503 "Don't create
        // new pipeline for merge requests with no commits"); the sandbox's GitLab dialect answers
        // 422 `{"message":["Source branch has no commits that are not in the target branch"]}`
        // (unverified against gitlab.com). Apply believes it only after git confirms it.
        let refusals = super::CreateRefusals::new(409, |status, message| {
            status == 422 && message.to_ascii_lowercase().contains("no commits")
        });
        self.pulls()
            .create::<wire::MergeRequest>(&path, &body, new, refusals, || {
                self.find(&new.head, &new.base)
            })
    }

    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest> {
        // Docs merge_requests.md "Update a merge request": PUT with the same fields twice leaves
        // the same merge request, so it is safe to resend.
        self.pulls().update::<wire::MergeRequest>(
            Method::Put,
            &self.mr_path(number),
            &wire::UpdateMergeRequest {
                title,
                description: body,
            },
            number,
        )
    }

    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome> {
        let context = || self.pulls().merge_context(number, head_sha);
        let text = if message.is_empty() {
            title.to_owned()
        } else {
            format!("{title}\n\n{message}")
        };
        let body = wire::Merge {
            sha: head_sha.as_str(),
            merge_commit_message: &text,
            // The staging branch belongs to the hydrator.
            should_remove_source_branch: false,
            // Promotion history relies on merge commits (trailers, docs/design.md §3). The merge method
            // itself is a project setting, not a request field (GitLab docs doc/api/merge_requests.md "Merge a merge request"; merge_method is a project setting, doc/api/projects.md).
            squash: false,
        };
        let path = format!("{}/merge", self.mr_path(number));
        let error = match self.http.send_json::<wire::MergeRequest>(
            Method::Put,
            &path,
            &body,
            Retry::NotBlindly,
        ) {
            // Docs "Merge a merge request", 200: the MR with `state: merged` and
            // `merge_commit_sha`.
            Ok(mr) => {
                let merge_sha = mr
                    .merge_commit_sha
                    .as_deref()
                    .and_then(|s| Sha::parse(s).ok());
                return Ok(MergeOutcome::Merged { merge_sha });
            }
            Err(error) => error,
        };
        if error.is_ambiguous() {
            // The merge may have happened: the merge request says (docs/design.md §7).
            return match self
                .merge_outcome_from_mr(number, head_sha)
                .with_context(context)?
            {
                (Some(outcome), _) => Ok(outcome),
                (None, _) => Err(anyhow::Error::new(error)).with_context(context),
            };
        }
        let status = error.status().unwrap_or_default();
        match status {
            // Docs "Merge a merge request": 409 "if sha parameter is passed and does not match
            // the HEAD of the source" ("SHA does not match HEAD of source branch").
            409 => Ok(MergeOutcome::HeadMoved),
            // Docs: 405 "if the merge request can't be merged" (not open, draft, pipeline must
            // succeed, approvals, discussions, a merge method needing a rebase — and already
            // merged); 406 "Branch cannot be merged" (conflicts) on older servers, 422 on newer.
            405 | 406 | 422 => {
                let (outcome, mr) = self
                    .merge_outcome_from_mr(number, head_sha)
                    .with_context(context)?;
                if let Some(outcome) = outcome {
                    return Ok(outcome);
                }
                Ok(MergeOutcome::Blocked {
                    reason: blocked_reason(status, error.message().unwrap_or_default(), &mr),
                })
            }
            // 401/403 (token, role, protected branch) and anything else: an error with a hint.
            _ => Err(anyhow::Error::new(error)).with_context(context),
        }
    }

    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>> {
        let context = || {
            format!(
                "reading commit statuses and the pipeline of {} in {}",
                sha.short(),
                self.full_path
            )
        };
        let mut statuses = Vec::new();
        // Docs commits.md "List the statuses of a commit": without `all`, the latest status per
        // name and ref; CI jobs are listed here by job name, external statuses by `name`.
        self.http
            .get_pages(
                &format!(
                    "{}/repository/commits/{sha}/statuses?per_page=100",
                    self.project
                ),
                |page: Vec<wire::CommitStatus>| statuses.extend(page),
            )
            .with_context(context)?;
        if !self.read_pipeline {
            return Ok(wire::reduce(statuses, None));
        }
        // Docs pipelines.md "List project pipelines": filter by `sha`, newest (highest id) first;
        // only the newest is wanted.
        let pipelines: Vec<wire::Pipeline> = self
            .http
            .get_json(&format!(
                "{}/pipelines?sha={sha}&order_by=id&sort=desc&per_page=1",
                self.project
            ))
            .with_context(context)?;
        let newest = pipelines.into_iter().max_by_key(|p| p.id);
        Ok(wire::reduce(statuses, newest))
    }

    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()> {
        refuse_failing_previous(status)?;
        let context = || self.pulls().status_context(sha, status);
        // GitLab's own limit is 255 characters (docs api/commits.md, "Set the pipeline status of a
        // commit": `description` "Must be 255 characters or fewer"); the 140 cut is within it.
        let description = cut_description(&status.description);
        let body = wire::CreateStatus {
            state: wire::write_state(status.state),
            name: &status.context,
            description: &description,
            target_url: status.target_url.as_deref(),
        };
        let path = format!("{}/statuses/{sha}", self.project);
        // A repeat of the same state is refused below and counts as done, so resending is safe.
        match self.http.send_json::<serde_json::Value>(
            Method::Post,
            &path,
            &body,
            Retry::Idempotent,
        ) {
            Ok(_) => Ok(()),
            // GitLab keeps one pending/running status per name, ref and user and moves it through a
            // state machine (Ci::CreateCommitStatusService); posting the state it already has
            // answers 400 "Cannot transition status via :enqueue from :pending" (observed, fixture
            // commit-status-400-transition.observed.json; upstream gitops-promoter #1007 retried
            // it forever). The state asked for is already there: success (docs/design.md §7).
            Err(error)
                if error.status() == Some(400)
                    && error
                        .message()
                        .is_some_and(|m| m.contains("Cannot transition status")) =>
            {
                Ok(())
            }
            Err(error) => Err(anyhow::Error::new(error)).with_context(context),
        }
    }
}

/// Why GitLab refused a merge, in words, from its answer and the re-read merge request's
/// `detailed_merge_status` (docs merge_requests.md "Merge status").
fn blocked_reason(status: u16, message: &str, mr: &wire::MergeRequest) -> String {
    let detail = mr.detailed_merge_status.as_deref().unwrap_or("");
    let why = match detail {
        "need_rebase" => "the project's merge method (fast-forward or semi-linear) needs a rebase first; promoter needs merge commits: set Settings → Merge requests → Merge method to \"Merge commit\"".to_owned(),
        "conflict" => "the merge request has conflicts".to_owned(),
        "ci_must_pass" | "ci_still_running" => {
            "the project requires a successful pipeline before merging".to_owned()
        }
        "not_approved" => "the merge request needs approvals".to_owned(),
        "draft_status" => "the merge request is a draft".to_owned(),
        "discussions_not_resolved" => "the merge request has unresolved discussions".to_owned(),
        "checking" | "unchecked" | "preparing" | "approvals_syncing" => {
            "GitLab is still checking whether it can be merged; promoter tries again next pass"
                .to_owned()
        }
        "not_open" => "the merge request is not open".to_owned(),
        "" => format!("GitLab said: {message}"),
        other => format!("GitLab reports merge status `{other}`"),
    };
    let mut reason = format!("GitLab refused the merge ({status}): {why}");
    if let Some(error) = mr.merge_error.as_deref().filter(|e| !e.is_empty()) {
        reason.push_str(&format!(" ({error})"));
    }
    reason
}

/// The advice shown under GitLab errors.
fn hints(api_url: &str, full_path: &str, has_token: bool, token_source: Option<String>) -> HintFn {
    let variable = token_source.unwrap_or_else(|| "the token variable".to_owned());
    StatusHints {
        refused: format!(
            "GitLab refused the token: check that {variable} holds a valid, unexpired access token with the `api` scope"
        ),
        no_token: "no token was given: set PROMOTER_TOKEN, GITLAB_TOKEN or the variable named by scm.tokenEnv (CI_JOB_TOKEN cannot open merge requests)"
            .to_owned(),
        forbidden: format!(
            "the token may lack a permission on {full_path}: it needs the `api` scope and the Developer role (Maintainer where protected branches require it); CI_JOB_TOKEN cannot open or merge merge requests"
        ),
        not_found: format!(
            "project {full_path} is not visible to this token, or scm.apiUrl ({api_url}) is wrong; repository.owner must be the full group path"
        ),
    }
    .hint_fn(has_token)
}

#[cfg(test)]
mod sandbox_tests;
#[cfg(test)]
mod tests;
