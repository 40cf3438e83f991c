//! Gates promoter computes itself (the top-level `gates:` list, docs/gates.md): their checked
//! definitions, and how a definition is placed (proposed or active). Each kind's evaluation lives in
//! its own file: `schedule.rs`, `commit_rule.rs`, `web.rs`, `argocd.rs`.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::GateResult;
use super::commit_rule::{self, CommitRule, CommitTarget, GateCommit};
use super::schedule::{self, Schedule};
use crate::model::{BranchName, GateKey};

/// One checked entry of `gates:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateDefinition {
    pub key: GateKey,
    pub kind: ComputedGate,
}

/// What a computed gate looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ComputedGate {
    Schedule(Schedule),
    Commit(CommitRule),
    WebRequest(WebRequest),
    Argocd(ArgocdGate),
}

impl ComputedGate {
    /// The key under which the kind is written in promotion.yaml.
    pub fn name(&self) -> &'static str {
        match self {
            ComputedGate::Schedule(_) => "schedule",
            ComputedGate::Commit(_) => "commit",
            ComputedGate::WebRequest(_) => "webRequest",
            ComputedGate::Argocd(_) => "argocd",
        }
    }

    /// Whether the kind may be listed under `proposedCommitStatuses` / `activeCommitStatuses`.
    /// Schedules and commit rules report on the staging tip (upstream writes them on the proposed
    /// commit); Argo CD judges what is deployed, the live tip; a web request can ask about either.
    pub fn allowed_as(&self, proposed: bool) -> bool {
        match self {
            ComputedGate::Schedule(_) | ComputedGate::Commit(_) => proposed,
            ComputedGate::Argocd(_) => !proposed,
            ComputedGate::WebRequest(_) => true,
        }
    }
}

/// A checked `webRequest:`; templates and expressions compile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebRequest {
    pub url: String,
    /// `GET`, `POST` or `PUT`.
    pub method: &'static str,
    pub headers: Vec<(String, String)>,
    /// Header name → environment variable holding its value.
    pub headers_from_env: Vec<(String, String)>,
    pub body: Option<String>,
    pub success: String,
    pub failure: Option<String>,
    pub timeout: Duration,
}

/// A checked `argocd:`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgocdGate {
    /// Without a trailing slash.
    pub server: String,
    pub token_env: String,
    pub selector: String,
}

/// What computed gates are evaluated from, per environment; observe fills it (reads only), the
/// planner evaluates from it. Each part is `None`/absent when it was not read in this pass.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ComputedFacts {
    /// The staging tip's commit data, read when a commit rule targets the proposed commit.
    pub staging_commit: Option<GateCommit>,
    /// The live tip's commit data, read when a commit rule targets the active commit.
    pub live_commit: Option<GateCommit>,
    /// Answers of web request gates on the staging tip, by key.
    pub proposed_answers: BTreeMap<GateKey, GateResult>,
    /// Answers of web request and Argo CD gates on the live tip, by key.
    pub active_answers: BTreeMap<GateKey, GateResult>,
}

impl ComputedFacts {
    /// The staging tip moved: what was read about it no longer applies.
    pub(crate) fn forget_staging(&mut self) {
        self.staging_commit = None;
        self.proposed_answers.clear();
    }

    /// The live tip moved.
    pub(crate) fn forget_live(&mut self) {
        self.live_commit = None;
        self.active_answers.clear();
    }
}

/// Whether `definition`'s inputs were read in this pass (listed as a proposed gate or not).
pub(crate) fn was_read(definition: &GateDefinition, proposed: bool, facts: &ComputedFacts) -> bool {
    match &definition.kind {
        ComputedGate::Schedule(_) => true,
        ComputedGate::Commit(rule) => match rule.target {
            CommitTarget::Proposed => facts.staging_commit.is_some(),
            CommitTarget::Active => facts.live_commit.is_some(),
        },
        ComputedGate::WebRequest(_) | ComputedGate::Argocd(_) => {
            let answers = if proposed {
                &facts.proposed_answers
            } else {
                &facts.active_answers
            };
            answers.contains_key(&definition.key)
        }
    }
}

/// The gate's state for the environment `branch`; a gate whose inputs were not read is pending.
pub(crate) fn evaluate(
    definition: &GateDefinition,
    branch: &BranchName,
    proposed: bool,
    facts: &ComputedFacts,
    now: OffsetDateTime,
) -> GateResult {
    let key = &definition.key;
    let mut result = match &definition.kind {
        ComputedGate::Schedule(schedule) => schedule::evaluate(key, schedule, branch, now),
        ComputedGate::Commit(rule) => {
            let commit = match rule.target {
                CommitTarget::Proposed => facts.staging_commit.as_ref(),
                CommitTarget::Active => facts.live_commit.as_ref(),
            };
            commit_rule::evaluate(key, rule, commit)
        }
        ComputedGate::WebRequest(_) | ComputedGate::Argocd(_) => {
            let answers = if proposed {
                &facts.proposed_answers
            } else {
                &facts.active_answers
            };
            answers
                .get(key)
                .cloned()
                .unwrap_or_else(|| super::not_read(key))
        }
    };
    result.kind = Some(definition.kind.name());
    result
}
