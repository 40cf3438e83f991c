//! The SCM seen by the rest of promoter: one small synchronous trait ([`Scm`]) speaking domain
//! types, implemented once per provider. Each provider is one folder (`github/`, `gitlab/`,
//! `gitea/` for Gitea and Forgejo) holding its client, its wire structs (private to it) and its
//! descriptor; `registry.rs` lists the descriptors ([`Provider`], [`ProviderInfo`]). The one HTTP
//! path is `http.rs`; what several providers' clients share above it is `shared.rs`.

pub(crate) mod azure;
pub(crate) mod bitbucket;
pub(crate) mod bitbucket_server;
pub(crate) mod gitea;
pub(crate) mod github;
pub(crate) mod gitlab;
pub(crate) mod http;
pub(crate) mod issues;
pub(crate) mod registry;
mod repo_path;
mod shared;
#[cfg(test)]
pub(crate) mod test_server;

pub(crate) use issues::{Issue, Issues};
pub(crate) use registry::{Provider, ProviderInfo};
pub(crate) use repo_path::{RepoPath, encode};

use crate::model::{BranchName, GateState, PrNumber, Sha};

/// The most characters a provider accepts in a PR title and description. Text over it is refused
/// (GitHub 422, GitLab 400), so promoter cuts before sending and before comparing
/// (`reconcile::text::fit`). Each provider's numbers, with their source, live in its module and
/// reach the rest through its descriptor ([`ProviderInfo::text_limits`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimits {
    pub title: usize,
    pub body: usize,
}

/// GitHub refuses commit status descriptions longer than this; the planner cuts before comparing
/// so a cut description is not rewritten every pass, and providers without that limit cut alike.
/// <https://docs.github.com/en/rest/commits/statuses#create-a-commit-status> (`description`).
pub(crate) const MAX_DESCRIPTION_CHARS: usize = 140;

/// Cuts a status description to [`MAX_DESCRIPTION_CHARS`] characters, ending with `…` when cut.
pub(crate) fn cut_description(text: &str) -> String {
    if text.chars().count() <= MAX_DESCRIPTION_CHARS {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(MAX_DESCRIPTION_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// An open promotion pull request (GitLab: merge request) as the SCM shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PullRequest {
    pub number: PrNumber,
    /// The page a person opens (`html_url` / `web_url`).
    pub url: String,
    pub title: String,
    pub body: String,
    /// The head commit the SCM currently shows. It follows the staging branch.
    pub head_sha: Sha,
    pub head_branch: BranchName,
    pub base_branch: BranchName,
    /// Label names, as the SCM lists them with the PR (a hold label stops the merge).
    pub labels: Vec<String>,
}

/// What promoter asks the SCM to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPullRequest {
    pub head: BranchName,
    pub base: BranchName,
    pub title: String,
    pub body: String,
}

/// One named report on a commit — a commit status (context) or a check run (name) on GitHub, a
/// commit status or pipeline job on GitLab, a commit status on Gitea — reduced to the newest per name
/// and mapped to a [`GateState`] by the provider (docs/design.md §4.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatusReport {
    pub name: String,
    pub state: GateState,
    pub description: String,
    pub target_url: Option<String>,
    /// The SCM cannot give this report a new description without changing its state (GitLab: a
    /// pending commit status refuses `pending` again, and the refused request changes nothing).
    /// The planner then leaves it as it is instead of rewriting it every pass.
    pub description_fixed: bool,
}

/// A commit status promoter writes (docs/design.md §4.2). Never `failure` for the previous-environment gate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusWrite {
    pub context: String,
    pub state: GateState,
    /// Cut to 140 characters by the provider when it has GitHub's limit.
    pub description: String,
    pub target_url: Option<String>,
}

/// The answer to a merge request made with a head-SHA guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// Merged; the new live tip when the SCM says it.
    Merged { merge_sha: Option<Sha> },
    /// The head moved since it was observed (GitHub 409, GitLab 409): try again next pass.
    HeadMoved,
    /// The SCM refused: branch protection, missing reviews, not mergeable, merge commits disabled.
    /// A state to report, not an error.
    Blocked { reason: String },
}

/// The provider-neutral operations a reconcile pass needs. Errors carry their own context: the
/// operation, the PR, branch or SHA, and the repository; callers add none on top (it would
/// repeat it). The issue operations of the dashboard are the [`Issues`] supertrait.
pub trait Scm: Issues + Send + Sync {
    /// The open PR with exactly this head and base in this repository (never a fork's).
    fn find_open_pull_request(
        &self,
        head: &BranchName,
        base: &BranchName,
    ) -> anyhow::Result<Option<PullRequest>>;
    /// Opens a PR; if the SCM says one already exists, finds and returns that one.
    fn create_pull_request(&self, new: &NewPullRequest) -> anyhow::Result<PullRequest>;
    fn update_pull_request(
        &self,
        number: PrNumber,
        title: &str,
        body: &str,
    ) -> anyhow::Result<PullRequest>;
    /// Merges with a merge commit only if the head is still `head_sha`.
    fn merge_pull_request(
        &self,
        number: PrNumber,
        head_sha: &Sha,
        title: &str,
        message: &str,
    ) -> anyhow::Result<MergeOutcome>;
    /// Every report on `sha`, newest per name, states mapped per docs/design.md §4.1.
    fn status_reports(&self, sha: &Sha) -> anyhow::Result<Vec<StatusReport>>;
    /// The open PR of each `(head, base)` pair, in the order of `pairs`, from as few reads as the
    /// provider allows (one listing of the repository's open PRs instead of one lookup per pair;
    /// docs/performance.md, "Batched reads"). A read that fails for every pair is each pair's
    /// error. The default asks [`Scm::find_open_pull_request`] once per pair, so a provider works
    /// without batching.
    fn find_open_pull_requests(
        &self,
        pairs: &[(BranchName, BranchName)],
    ) -> Vec<anyhow::Result<Option<PullRequest>>> {
        pairs
            .iter()
            .map(|(head, base)| self.find_open_pull_request(head, base))
            .collect()
    }
    /// [`Scm::status_reports`] of each SHA, in the order of `shas`, from as few reads as the
    /// provider allows. The default reads each SHA on its own.
    fn status_reports_of(&self, shas: &[Sha]) -> Vec<anyhow::Result<Vec<StatusReport>>> {
        shas.iter().map(|sha| self.status_reports(sha)).collect()
    }
    fn write_status(&self, sha: &Sha, status: &StatusWrite) -> anyhow::Result<()>;
}

/// Each of `count` callers gets the failure of a read they shared (one listing, one query): the
/// first the error itself, the others a copy that renders the same way (its text and hint), since
/// an error cannot be cloned.
pub(crate) fn shared_failure<T>(error: anyhow::Error, count: usize) -> Vec<anyhow::Result<T>> {
    // The text the reports show for an error (reconcile's `error_text`, which this layer cannot
    // import): the chain, and the provider's hint when it has one.
    let text = match http::hint(&error) {
        Some(hint) => format!("{error:#}\nhint: {hint}"),
        None => format!("{error:#}"),
    };
    let mut all = Vec::with_capacity(count);
    if count > 0 {
        all.push(Err(error));
    }
    all.extend((1..count).map(|_| Err(anyhow::Error::msg(text.clone()))));
    all
}

/// Picks each `(head, base)` pair's open PR out of one listing: `is_pair(pull, head, base)` says
/// whether a listed PR is that pair's (same repository, never a fork's); the lowest number wins
/// ([`shared::Pulls::lowest`]).
pub(crate) fn pick_pairs<P: shared::WirePull>(
    pulls: &shared::Pulls<'_>,
    listed: Vec<P>,
    pairs: &[(BranchName, BranchName)],
    is_pair: impl Fn(&P, &BranchName, &BranchName) -> bool,
) -> Vec<anyhow::Result<Option<PullRequest>>> {
    let mut per_pair: Vec<Vec<P>> = pairs.iter().map(|_| Vec::new()).collect();
    for pull in listed {
        if let Some(at) = pairs
            .iter()
            .position(|(head, base)| is_pair(&pull, head, base))
        {
            per_pair[at].push(pull);
        }
    }
    per_pair
        .into_iter()
        .zip(pairs)
        .map(|(found, (head, base))| {
            use anyhow::Context;
            pulls
                .lowest(found)
                .with_context(|| pulls.find_context(head, base))
        })
        .collect()
}

/// The SCM refused to open a PR because its head has no commit its base lacks: the staging branch
/// is already in the live branch, e.g. another runner promoted it between this run's observation
/// and its create. Not an error by itself: apply re-reads the live branch and plans the
/// environment again (docs/design.md §3), so the environment is reported as it now is.
#[derive(Debug, thiserror::Error)]
#[error("{head} has no commit that {base} lacks: {answer}")]
pub(crate) struct HeadInBase {
    pub head: BranchName,
    pub base: BranchName,
    /// The SCM's own words.
    pub answer: String,
}

/// How a provider's SCM refuses a PR create, and what is done about it
/// ([`CreateRefusals::adopt_existing`]).
pub(crate) struct CreateRefusals {
    /// The status of "a PR with this head and base already exists" ("already exists" in its
    /// message).
    pub duplicate_status: u16,
    /// Whether a status and message mean "the head has no commit the base lacks".
    pub head_in_base: fn(u16, &str) -> bool,
}

impl CreateRefusals {
    pub(crate) fn new(duplicate_status: u16, head_in_base: fn(u16, &str) -> bool) -> Self {
        Self {
            duplicate_status,
            head_in_base,
        }
    }

    /// What every provider's `create_pull_request` does after a create that failed or got no
    /// answer: when the SCM says the head is already in the base, a [`HeadInBase`] error; when it
    /// says the PR already exists, or the create may have happened (no answer, 5xx), the open PR
    /// is looked up and adopted, so a create is never sent twice. Otherwise the error, with
    /// `context`.
    pub(crate) fn adopt_existing(
        &self,
        error: http::HttpError,
        new: &NewPullRequest,
        find: impl FnOnce() -> anyhow::Result<Option<PullRequest>>,
        context: &dyn Fn() -> String,
    ) -> anyhow::Result<PullRequest> {
        use anyhow::Context;
        if let (Some(status), Some(message)) = (error.status(), error.message())
            && (self.head_in_base)(status, message)
        {
            return Err(anyhow::Error::new(HeadInBase {
                head: new.head.clone(),
                base: new.base.clone(),
                answer: format!("the SCM answered {status}: {message}"),
            }))
            .with_context(context);
        }
        let exists = error.status() == Some(self.duplicate_status)
            && error
                .message()
                .is_some_and(|m| m.contains("already exists"));
        if (exists || error.is_ambiguous())
            && let Some(pr) = find().with_context(context)?
        {
            return Ok(pr);
        }
        Err(anyhow::Error::new(error)).with_context(context)
    }
}
