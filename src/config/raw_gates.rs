//! The serde mirror of the top-level `gates:` list (docs/gates.md): gates promoter computes itself
//! and writes as commit statuses. Same rules as `raw.rs`: camelCase, unknown keys rejected, the
//! types generate the JSON Schema. "Exactly one kind per entry" and every value's meaning are
//! checked in `validate/gates.rs`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// A gate computed by promoter. List its `key` under `activeCommitStatuses` or
/// `proposedCommitStatuses` like any other gate; exactly one of `schedule`, `commit`, `webRequest`
/// and `argocd`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "GateDefinition")]
pub(crate) struct RawGateDefinition {
    /// The gate's key and commit status name: lowercase letters, digits and `-`, 1 to 63
    /// characters, starting and ending with a letter or digit.
    #[schemars(regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"), length(max = 63))]
    pub key: String,
    /// Deployment windows (a proposed gate): open or closed by the clock.
    #[serde(default)]
    pub schedule: Option<RawSchedule>,
    /// A rule over the data of a hydrated commit (a proposed gate).
    #[serde(default)]
    pub commit: Option<RawCommitRule>,
    /// Ask an HTTP endpoint (an active or proposed gate).
    #[serde(default)]
    pub web_request: Option<RawWebRequest>,
    /// Argo CD applications' sync and health (an active gate).
    #[serde(default)]
    pub argocd: Option<RawArgocd>,
}

/// Deployment windows: exclusions win over allows; no allow window means open unless excluded.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Schedule")]
pub(crate) struct RawSchedule {
    /// IANA time zone the cron expressions are read in (default `UTC`), e.g. `Europe/Berlin`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// Windows when promotion is allowed. None: always allowed, unless excluded.
    #[serde(default)]
    pub allow: Vec<RawWindow>,
    /// Windows when promotion is not allowed; they win over `allow`.
    #[serde(default)]
    pub exclude: Vec<RawWindow>,
    /// Per live branch windows, added to the global ones. When present, environments not listed
    /// here are always open.
    #[serde(default)]
    pub environments: Option<BTreeMap<String, RawWindows>>,
}

/// The windows of one environment.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "EnvironmentWindows")]
pub(crate) struct RawWindows {
    /// Added to the schedule's `allow` windows for this environment.
    #[serde(default)]
    pub allow: Vec<RawWindow>,
    /// Added to the schedule's `exclude` windows for this environment.
    #[serde(default)]
    pub exclude: Vec<RawWindow>,
}

/// One window: it opens at every time `cron` names and stays open for `duration`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Window")]
pub(crate) struct RawWindow {
    /// Five cron fields: minute hour day-of-month month day-of-week (`0 9 * * 1-5`).
    pub cron: String,
    /// How long the window stays open: an integer and one unit, `90s`, `30m`, `8h`, `14d`.
    #[schemars(regex(pattern = r"^[0-9]+[smhd]$"))]
    pub duration: String,
    /// Shown in the commit status ("office hours").
    #[serde(default)]
    pub description: Option<String>,
    /// IANA time zone of this window, instead of the schedule's.
    #[serde(default)]
    pub timezone: Option<String>,
}

/// Which hydrated commit a commit rule judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
#[schemars(rename = "CommitTarget")]
pub(crate) enum RawCommitTarget {
    /// The staging tip: what would be merged.
    Proposed,
    /// The live tip: what is deployed now (the status is still written on the staging tip).
    Active,
}

/// A rule over a hydrated commit: a minijinja expression that is true for success.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "CommitRule")]
pub(crate) struct RawCommitRule {
    /// `proposed` (default) or `active`.
    #[serde(default)]
    pub target: Option<RawCommitTarget>,
    /// minijinja expression over `commit.sha`, `commit.subject`, `commit.body`, `commit.author`,
    /// `commit.committer` (e-mail addresses), `commit.authorName`, `commit.committerName` and
    /// `commit.trailers` (a map of lists), e.g. `commit.trailers["Ticket"] is defined`.
    pub expression: String,
    /// Shown in the commit status when the rule fails (default: the expression).
    #[serde(default)]
    pub description: Option<String>,
}

/// The HTTP method of a web request gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "UPPERCASE")]
#[schemars(rename = "HttpMethod")]
pub(crate) enum RawMethod {
    Get,
    Post,
    Put,
}

/// Ask an HTTP endpoint about the judged commit.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "WebRequest")]
pub(crate) struct RawWebRequest {
    /// URL template (`http://` or `https://`), e.g.
    /// `https://ci.acme.com/runs?sha={{ commit.sha }}&env={{ environment.branch }}`.
    pub url: String,
    /// `GET` (default), `POST` or `PUT`.
    #[serde(default)]
    pub method: Option<RawMethod>,
    /// Header templates. Never put a secret here: use `headersFromEnv`.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Headers whose value is read from the named environment variable (secrets).
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// Request body template.
    #[serde(default)]
    pub body: Option<String>,
    /// minijinja expression over `response.status`, `response.json`, `response.text`: true is
    /// success. Otherwise the gate is pending unless `failure` is true.
    pub success: String,
    /// minijinja expression: true is failure (checked when `success` is false).
    #[serde(default)]
    pub failure: Option<String>,
    /// The whole request's time limit (default `10s`, at most `60s`).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+[smhd]$"))]
    pub timeout: Option<String>,
}

/// Argo CD applications deploying the environment's live branch.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Argocd")]
pub(crate) struct RawArgocd {
    /// The Argo CD server's URL, e.g. `https://argocd.acme.com`.
    pub server: String,
    /// Environment variable holding an Argo CD API token (default `ARGOCD_AUTH_TOKEN`).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// Kubernetes label selector of the applications, e.g. `team=payments`.
    pub selector: String,
}
