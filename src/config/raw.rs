//! The serde mirror of promotion.yaml (docs/design.md §2): field for field, camelCase, unknown keys
//! rejected. The same types generate the JSON Schema printed by `promoter schema`, and
//! `validate` walks that schema for its structural checks, so the file format has one definition.
//!
//! Owns: the shape of the file. Does not own: defaults, meaning or cross-field rules — those live in
//! `validate.rs`, which turns these types into the checked [`super::Config`].

use schemars::JsonSchema;
use serde::Deserialize;

/// The JSON Schema dialect `promoter schema` prints.
pub(crate) const SCHEMA_DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// promotion.yaml: how promoter promotes GitOps configuration through environments with pull
/// requests. See docs/configuration.md.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(title = "promotion.yaml")]
pub(crate) struct RawConfig {
    /// The SCM hosting the repository and its pull requests.
    pub scm: RawScm,
    /// The repository holding the live and staging branches. May be omitted inside the provider's
    /// CI when it names the job's repository (GitHub Actions `GITHUB_REPOSITORY`, GitLab CI
    /// `CI_PROJECT_PATH`; docs/configuration.md, "Providers").
    #[serde(default)]
    pub repository: Option<RawRepository>,
    /// Templates for the promotion pull request's title and description.
    #[serde(default)]
    pub pull_request: Option<RawPullRequest>,
    /// One or more independent promotion chains.
    #[schemars(length(min = 1))]
    pub strategies: Vec<RawStrategy>,
    /// The dashboard issue: one issue in the repository showing every strategy and environment,
    /// kept up to date by `promoter reconcile`. Off unless `enabled: true`.
    #[serde(default)]
    pub dashboard: Option<RawDashboard>,
    /// Gates promoter computes itself: deployment windows, commit rules, web requests, Argo CD
    /// health (docs/gates.md). List a key from here under `activeCommitStatuses` or
    /// `proposedCommitStatuses`; any other key there is read from the SCM.
    #[serde(default)]
    pub gates: Vec<super::raw_gates::RawGateDefinition>,
}

/// The dashboard issue (docs/insight.md "Dashboard").
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Dashboard")]
pub(crate) struct RawDashboard {
    /// Write the dashboard issue after every `promoter reconcile` pass (default false). It costs
    /// one API read per pass (one per 100 open issues), plus a write when its text changed.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// The issue title (default "Promotion dashboard"): one line, at most 255 characters.
    #[serde(default)]
    #[schemars(length(min = 1, max = 255))]
    pub title: Option<String>,
}

/// Which SCM promoter talks to: the registered providers (`crate::scm::registry`), whose schema
/// lists their names.
pub(crate) use crate::scm::Provider as RawProvider;

/// The SCM and how to authenticate to it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Scm")]
pub(crate) struct RawScm {
    /// The SCM provider; what each one defaults is in docs/configuration.md, "Providers".
    pub provider: RawProvider,
    /// API base URL. Default: the provider's CI variable (`$GITHUB_API_URL`, `$CI_API_V4_URL`),
    /// else its public service (`https://api.github.com`, `https://gitlab.com/api/v4`). Required
    /// for providers without a public service (gitea, forgejo).
    #[serde(default)]
    pub api_url: Option<String>,
    /// Environment variable holding the API token. Default: the provider's (`GITHUB_TOKEN`,
    /// `GITLAB_TOKEN`, …). `PROMOTER_TOKEN`, when set, wins over all of them.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub token_env: Option<String>,
    /// Environment variable holding a user name: the token is then sent as its password with
    /// HTTP Basic, to the API and to git (Bitbucket Cloud app passwords and API tokens). Not set:
    /// the token is sent the provider's own way (Bitbucket: an access token, as Bearer).
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub username_env: Option<String>,
    /// Authenticate as a GitHub App instead of with a token (provider github only).
    #[serde(default)]
    pub github_app: Option<RawGithubApp>,
    /// PEM file of extra CA certificates that git and the API trust for `https://`, besides the
    /// system's (or `SSL_CERT_FILE`'s): a private or company CA. Relative to this file's directory.
    #[serde(default)]
    pub ca_file: Option<String>,
}

/// A GitHub App installation; promoter exchanges a signed JWT for an installation token.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "GithubApp")]
pub(crate) struct RawGithubApp {
    /// The App ID shown on the App's settings page.
    pub app_id: u64,
    /// The installation to use; looked up for the repository when omitted.
    #[serde(default)]
    pub installation_id: Option<u64>,
    /// Environment variable holding the App's PEM private key. Exactly one of `privateKeyEnv` and
    /// `privateKeyPath`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub private_key_env: Option<String>,
    /// Path of the App's PEM private key, relative to this file's directory.
    #[serde(default)]
    pub private_key_path: Option<String>,
}

/// The repository, as the SCM names it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Repository")]
pub(crate) struct RawRepository {
    /// The owner (user or organisation). GitLab: the full namespace path, e.g. `group/subgroup`.
    pub owner: String,
    /// The repository name.
    pub name: String,
    /// What git fetches from and pushes to; derived from the SCM's web URL when absent. A local path
    /// or `file://` URL is allowed (tests, mirrors).
    #[serde(default)]
    pub clone_url: Option<String>,
}

/// Pull request text templates (minijinja `{{ }}` syntax); built-in defaults when absent.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "PullRequest")]
pub(crate) struct RawPullRequest {
    /// Title template, e.g. "Promote {{ proposed.dry.shortSha }} to `{{ environment.branch }}`".
    #[serde(default)]
    pub title: Option<String>,
    /// Description template.
    #[serde(default)]
    pub description: Option<String>,
    /// A label on a promotion PR that keeps promoter from merging it (default `promoter:hold`);
    /// removing the label resumes. At most 50 characters.
    #[serde(default)]
    #[schemars(length(min = 1, max = 50))]
    pub hold_label: Option<String>,
}

/// One promotion chain: environments promoted top to bottom.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Strategy")]
pub(crate) struct RawStrategy {
    /// Unique name of the strategy in this file.
    pub name: String,
    /// Monorepo mode: the path of this app on shared branches (no leading or trailing `/`).
    /// Staging branches become `<branch>-next/<activePath>`.
    #[serde(default)]
    pub active_path: Option<String>,
    /// Gates read on every environment's live tip; they gate the next environment.
    #[serde(default)]
    pub active_commit_statuses: Vec<RawActiveGate>,
    /// Gates read on every environment's staging tip; they gate merging into it.
    #[serde(default)]
    pub proposed_commit_statuses: Vec<RawProposedGate>,
    /// The environments, in promotion order.
    #[schemars(length(min = 1))]
    pub environments: Vec<RawEnvironment>,
}

/// One environment of a strategy.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "Environment")]
pub(crate) struct RawEnvironment {
    /// The live branch: what is deployed.
    pub branch: String,
    /// Merge the promotion pull request once every gate passes (default true). `false` leaves
    /// merging to a person.
    #[serde(default)]
    pub auto_merge: Option<bool>,
    /// Override of the staging branch (default `<branch>-next`, or `<branch>-next/<activePath>`).
    #[serde(default)]
    pub staging_branch: Option<String>,
    /// Active gates for this environment, added to the strategy's.
    #[serde(default)]
    pub active_commit_statuses: Vec<RawActiveGate>,
    /// Proposed gates for this environment, added to the strategy's.
    #[serde(default)]
    pub proposed_commit_statuses: Vec<RawProposedGate>,
}

/// A gate read on the live tip. With `soakTime` it is the built-in soak timer.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "ActiveGate")]
pub(crate) struct RawActiveGate {
    /// Commit status / check name: letters, digits, `-`, `_`, `.`; at most 63 characters.
    #[schemars(
        regex(pattern = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"),
        length(max = 63)
    )]
    pub key: String,
    /// Built-in soak gate: success once the live tip is this old. An integer and one unit:
    /// `90s`, `30m`, `2h`, `1d`.
    #[serde(default)]
    #[schemars(regex(pattern = r"^[0-9]+[smhd]$"))]
    pub soak_time: Option<String>,
}

/// A gate read on the staging tip (the pull request head).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schemars(rename = "ProposedGate")]
pub(crate) struct RawProposedGate {
    /// Commit status / check name: letters, digits, `-`, `_`, `.`; at most 63 characters.
    #[schemars(
        regex(pattern = r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"),
        length(max = 63)
    )]
    pub key: String,
}

/// The JSON Schema (draft 2020-12) of promotion.yaml.
pub fn schema() -> serde_json::Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<RawConfig>();
    let mut value = schema.to_value();
    if let Some(object) = value.as_object_mut() {
        object.insert("$schema".into(), SCHEMA_DIALECT.into());
    }
    value
}

/// [`schema`] as the pretty JSON `promoter schema` prints (with a final newline).
pub(crate) fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).expect("a JSON value always serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_declares_draft_2020_12_and_rejects_unknown_keys() {
        let schema = schema();
        assert_eq!(schema["$schema"], SCHEMA_DIALECT);
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["$defs"]["Environment"]["additionalProperties"],
            false
        );
    }

    #[test]
    fn the_schema_lists_every_registered_provider() {
        let listed = schema()["$defs"]["Provider"]["enum"].clone();
        let registered: Vec<&str> = crate::scm::Provider::ALL
            .iter()
            .map(|p| p.as_str())
            .collect();
        assert_eq!(listed, serde_json::json!(registered));
    }

    #[test]
    fn proposed_gates_have_no_soak_time_in_the_schema() {
        let schema = schema();
        let proposed = &schema["$defs"]["ProposedGate"]["properties"];
        assert!(proposed.get("key").is_some());
        assert!(proposed.get("soakTime").is_none());
        assert!(
            schema["$defs"]["ActiveGate"]["properties"]
                .get("soakTime")
                .is_some()
        );
    }
}
