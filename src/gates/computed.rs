//! Gates promoter computes itself (the top-level `gates:` list, docs/gates.md): their checked
//! definitions, and how a definition is placed (proposed or active). Each kind's evaluation lives in
//! its own file: `schedule.rs`, `commit_rule.rs`, `web.rs`, `argocd.rs`.

use std::time::Duration;

use super::commit_rule::CommitRule;
use super::schedule::Schedule;
use crate::model::GateKey;

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

    /// Whether evaluating it makes a request (done in observe, not in the pure planner).
    pub fn is_external(&self) -> bool {
        matches!(self, ComputedGate::WebRequest(_) | ComputedGate::Argocd(_))
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
