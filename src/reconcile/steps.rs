//! The words of a plan: [`Step`]s with their [`Action`]s (what apply executes) and the per-environment
//! [`Summary`] with its [`Phase`] (what reports show). Data only; `plan.rs` decides.

use serde::Serialize;

use crate::gates::GateResult;
use crate::model::{BranchName, GateState, PrNumber, Sha};
use crate::scm::{NewPullRequest, StatusWrite};

/// One step with the reason it is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Step {
    pub action: Action,
    pub reason: String,
}

impl Step {
    /// Whether apply must plan this environment again after this step succeeded.
    pub(crate) fn replans(&self) -> bool {
        matches!(self.action, Action::CreatePr { .. } | Action::Merge { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub(crate) enum Action {
    /// Create the "ours" merge commit (tree = staging tip's tree, or in monorepo mode live's tree
    /// with `active_path` taken from staging; parents = staging tip, live tip; author/committer
    /// `GitOps Promoter`) and push it to the staging branch without force.
    PushOursMerge {
        live_branch: BranchName,
        staging_branch: BranchName,
        live_tip: Sha,
        staging_tip: Sha,
        active_path: Option<String>,
        message: String,
    },
    /// Write a commit status on `sha` (the staging tip for `promoter-previous-environment`, the
    /// live tip for built-in active gates such as soak).
    WriteStatus {
        sha: Sha,
        context: String,
        state: GateState,
        /// Already cut to 140 characters.
        description: String,
        target_url: Option<String>,
    },
    CreatePr {
        head: BranchName,
        base: BranchName,
        title: String,
        body: String,
    },
    UpdatePr {
        number: PrNumber,
        title: String,
        body: String,
    },
    /// Merge with a merge commit only if the PR head is still `head_sha` (the observed staging
    /// tip whose gates were read). Commit message: `title`, blank line, `message`.
    Merge {
        number: PrNumber,
        head_sha: Sha,
        title: String,
        message: String,
        /// After the merge, read the new live tip and its committer time from git (one fetch of
        /// the live branch) instead of taking the SCM's answer and the apply time: a soak gate of
        /// this environment counts from that time (docs/design.md §4.3). Without a SHA in the
        /// SCM's answer the live branch is read in any case.
        reread_live_tip: bool,
    },
    /// Report only; nothing is written.
    Note { text: String },
}

impl Action {
    pub(crate) fn is_write(&self) -> bool {
        !matches!(self, Action::Note { .. })
    }

    /// The SCM call for a [`Action::WriteStatus`].
    pub(crate) fn status_write(&self) -> Option<(Sha, StatusWrite)> {
        match self {
            Action::WriteStatus {
                sha,
                context,
                state,
                description,
                target_url,
            } => Some((
                sha.clone(),
                StatusWrite {
                    context: context.clone(),
                    state: *state,
                    description: description.clone(),
                    target_url: target_url.clone(),
                },
            )),
            _ => None,
        }
    }

    /// The SCM call for a [`Action::CreatePr`].
    pub(crate) fn new_pull_request(&self) -> Option<NewPullRequest> {
        match self {
            Action::CreatePr {
                head,
                base,
                title,
                body,
            } => Some(NewPullRequest {
                head: head.clone(),
                base: base.clone(),
                title: title.clone(),
                body: body.clone(),
            }),
            _ => None,
        }
    }
}

/// Where an environment stands (docs/design.md §6 `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Phase {
    /// Nothing to promote: the staging dry SHA is live.
    Promoted,
    /// Something to promote, waiting (gates pending, a person to merge, a merge in progress).
    Pending,
    /// Something to promote and a proposed gate failed.
    Blocked,
    /// The environment could not be observed or planned: the pass exits 1.
    Failure,
}

impl Phase {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Phase::Promoted => "promoted",
            Phase::Pending => "pending",
            Phase::Blocked => "blocked",
            Phase::Failure => "failure",
        }
    }
}

/// What the report shows for one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Summary {
    pub phase: Phase,
    pub reason: String,
    pub live_dry: Option<Sha>,
    pub proposed_dry: Option<Sha>,
    pub live_tip: Option<Sha>,
    pub staging_tip: Option<Sha>,
    pub pull_request: Option<PrRef>,
    /// On the staging tip, `promoter-previous-environment` (as planned) first. Empty when there is
    /// nothing to promote.
    pub proposed_gates: Vec<GateResult>,
    /// On the live tip; SCM gates not read in this pass are pending "not read".
    pub active_gates: Vec<GateResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct PrRef {
    pub number: PrNumber,
    pub url: String,
}
