//! promotion.yaml: loading (`raw`), checking (`validate`) and the checked [`Config`] every other
//! module reads. Nothing outside this module sees the raw serde mirror.
//!
//! Flow: text -> `raw::RawConfig` (serde, unknown keys rejected) -> `validate::check` (collects every
//! problem with file:line:column and key path) -> [`Config`].

mod bytes;
mod defaults;
pub(crate) mod describe;
mod document;
mod problem;
pub(crate) mod raw;
pub(crate) mod raw_gates;
mod structure;
mod validate;
mod visible;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::ci_env::{Env, var};
use crate::model::{BranchName, GateKey, Secret};

pub(crate) use crate::gates::computed::{ArgocdGate, ComputedGate, GateDefinition, WebRequest};

pub use problem::ConfigErrors;
pub(crate) use validate::{format_duration, parse_duration};

/// The variable naming the config file when `-c/--config` is not given.
pub(crate) const CONFIG_ENV: &str = "PROMOTER_CONFIG";
/// The file read when neither `-c/--config` nor `PROMOTER_CONFIG` is given.
pub(crate) const DEFAULT_FILE: &str = "promotion.yaml";

/// How the config file was chosen; it decides the hint when the file cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    /// `-c/--config`.
    Flag,
    /// `PROMOTER_CONFIG`.
    Env,
    /// `./promotion.yaml`.
    Default,
}

/// Finds the config file: `-c/--config`, else `PROMOTER_CONFIG`, else `./promotion.yaml`.
pub(crate) fn locate(flag: Option<&Path>, env: Env<'_>) -> (PathBuf, ConfigSource) {
    if let Some(path) = flag {
        return (path.to_owned(), ConfigSource::Flag);
    }
    if let Some(path) = var(env, CONFIG_ENV) {
        return (PathBuf::from(path), ConfigSource::Env);
    }
    (PathBuf::from(DEFAULT_FILE), ConfigSource::Default)
}

/// Why a config could not be loaded. Both mean exit code 2 at the command line.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading {}", path.display())]
    Read {
        path: PathBuf,
        source_of_path: ConfigSource,
        #[source]
        source: std::io::Error,
    },
    #[error("{}", .0.summary())]
    Invalid(ConfigErrors),
}

impl LoadError {
    /// What the user can do about it, when known.
    pub fn hint(&self) -> Option<String> {
        match self {
            LoadError::Read {
                source_of_path,
                source,
                ..
            } if source.kind() == std::io::ErrorKind::NotFound => Some(match source_of_path {
                ConfigSource::Flag => "check the path given to -c/--config".to_owned(),
                ConfigSource::Env => format!("{CONFIG_ENV} names this file; check its value"),
                ConfigSource::Default => format!(
                    "run promoter where {DEFAULT_FILE} is, pass -c FILE or set {CONFIG_ENV}; examples/promotion.yaml is a start"
                ),
            }),
            LoadError::Read { .. } | LoadError::Invalid(_) => None,
        }
    }
}

/// Checks promotion.yaml text; `path` names the file in every problem. Reads the environment only
/// through `env` (CI defaults, docs/design.md §2).
pub fn parse(text: &str, path: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    validate::check(text, path, env)
}

/// Reads and checks the file at `path`.
pub fn load(path: &Path, env: Env<'_>) -> Result<Config, LoadError> {
    load_located(path, ConfigSource::Flag, env)
}

/// [`locate`] then [`load`]: what every command taking `-c/--config` calls.
pub(crate) fn load_from(flag: Option<&Path>, env: Env<'_>) -> Result<Config, LoadError> {
    let (path, source) = locate(flag, env);
    load_located(&path, source, env)
}

fn load_located(path: &Path, source: ConfigSource, env: Env<'_>) -> Result<Config, LoadError> {
    let read_error = |error| LoadError::Read {
        path: path.to_owned(),
        source_of_path: source,
        source: error,
    };
    // One byte more than the limit is enough to refuse the file without reading all of it.
    let mut content = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            file.take(bytes::MAX_FILE_BYTES as u64 + 1)
                .read_to_end(&mut content)
        })
        .map_err(read_error)?;
    let text = bytes::check(&content)
        .map_err(|problems| LoadError::Invalid(ConfigErrors::new(path, problems)))?;
    parse(text, path, env).map_err(LoadError::Invalid)
}

/// The checked configuration. Every value here is valid; defaults are applied.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it was loaded from, for messages.
    pub path: PathBuf,
    pub scm: ScmConfig,
    pub repository: Repository,
    pub pull_request: PullRequestTemplates,
    pub strategies: Vec<Strategy>,
    /// The dashboard issue; `None` when it is off (the default).
    pub dashboard: Option<DashboardConfig>,
    /// The top-level `gates:` list, in file order.
    pub gates: Vec<Arc<GateDefinition>>,
}

/// `dashboard:` when `enabled: true` (docs/insight.md "Dashboard").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    /// One line, at most [`DashboardConfig::MAX_TITLE_CHARS`] characters.
    pub title: String,
}

impl DashboardConfig {
    pub const DEFAULT_TITLE: &str = "Promotion dashboard";
    /// GitLab refuses longer issue titles (docs development/issuable-like-models.md: 255),
    /// GitHub at 256.
    pub const MAX_TITLE_CHARS: usize = 255;
}

impl Config {
    /// Whether any environment of any strategy has an active or proposed gate named `key`.
    pub fn has_gate(&self, key: &str) -> bool {
        self.strategies
            .iter()
            .flat_map(|strategy| &strategy.environments)
            .flat_map(|env| env.active_gates.iter().chain(&env.proposed_gates))
            .any(|gate| gate.key.as_str() == key)
    }
}

/// `scm.provider`. What each one is (token variable, git user, URL shapes, limits, how its client
/// is built) is its descriptor in `scm/<provider>/mod.rs`, listed in `scm/registry.rs`.
pub(crate) use crate::scm::Provider;

#[derive(Debug, Clone)]
pub struct ScmConfig {
    pub provider: Provider,
    /// API base URL without a trailing slash.
    pub api_url: String,
    /// The variable named by `tokenEnv`, or the provider default; `PROMOTER_TOKEN` still wins (see
    /// [`ScmConfig::token`]).
    pub token_env: String,
    /// `usernameEnv`: the variable holding the user name sent with the token as HTTP Basic (and
    /// to git), for SCMs whose passwords need one (Bitbucket app passwords and API tokens).
    pub username_env: Option<String>,
    pub github_app: Option<GithubApp>,
    /// `caFile`, resolved against the configuration file's directory.
    pub ca_file: Option<PathBuf>,
}

/// The variable that, when set, wins over every other token variable.
pub(crate) const PROMOTER_TOKEN: &str = "PROMOTER_TOKEN";

impl ScmConfig {
    /// The token and the variable it came from: `PROMOTER_TOKEN` > `tokenEnv` > provider default
    /// (the last two are both in `token_env`). Empty variables count as unset.
    pub fn token(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<(String, Secret)> {
        [PROMOTER_TOKEN, self.token_env.as_str()]
            .into_iter()
            .find_map(|var| {
                env(var)
                    .filter(|v| !v.trim().is_empty())
                    .map(|v| (var.to_owned(), Secret::new(v.trim())))
            })
    }
}

impl ScmConfig {
    /// The user name from the variable `usernameEnv` names; `None` without `usernameEnv`. A named
    /// variable that is unset or empty is an error: the token alone would be sent the wrong way.
    pub fn username(&self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Option<String>> {
        let Some(name) = &self.username_env else {
            return Ok(None);
        };
        match env(name).map(|v| v.trim().to_owned()) {
            Some(user) if !user.is_empty() => Ok(Some(user)),
            _ => Err(anyhow::anyhow!(
                "scm.usernameEnv names `{name}`, which is not set: set it to the user name that goes with the token, or remove `usernameEnv` to send the token as an access token"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct GithubApp {
    pub app_id: u64,
    pub installation_id: Option<u64>,
    pub private_key: PrivateKeySource,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivateKeySource {
    Env(String),
    Path(PathBuf),
}

#[derive(Debug, Clone)]
pub struct Repository {
    /// The owner's path, in the shape the provider accepts ([`crate::scm::registry::OwnerShape`]):
    /// GitHub, Gitea, Forgejo: the user or organization; GitLab: the full namespace path
    /// (`group/subgroup`); Azure DevOps: `organization/project`; Bitbucket: the workspace.
    pub owner: String,
    pub name: String,
    /// What git fetches from and pushes to: an `http(s)://` URL, a `file://` URL or a local path.
    pub clone_url: String,
    /// The repository's page, for links in PR text and reports (`https://github.com/acme/deploy`).
    pub web_url: String,
}

impl Repository {
    /// `owner/name`.
    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// The repository's path, as providers build URLs from it.
    pub fn path(&self) -> crate::scm::RepoPath {
        crate::scm::RepoPath::new(&self.owner, &self.name)
    }
}

#[derive(Debug, Clone, Default)]
pub struct PullRequestTemplates {
    /// A minijinja template; `None` = the built-in default of docs/design.md §5.
    pub title: Option<String>,
    pub description: Option<String>,
    /// `pullRequest.holdLabel`; `None` = [`PullRequestTemplates::DEFAULT_HOLD_LABEL`].
    pub hold_label: Option<String>,
}

impl PullRequestTemplates {
    /// A promotion PR with this label is not merged by promoter (docs/gates.md "Holding").
    pub const DEFAULT_HOLD_LABEL: &str = "promoter:hold";
    /// GitHub and Gitea refuse longer label names.
    pub const MAX_HOLD_LABEL_CHARS: usize = 50;

    pub fn hold_label(&self) -> &str {
        self.hold_label
            .as_deref()
            .unwrap_or(Self::DEFAULT_HOLD_LABEL)
    }
}

#[derive(Debug, Clone)]
pub struct Strategy {
    pub name: String,
    /// Monorepo mode: the path of this app on shared branches. `None` when absent or empty.
    pub active_path: Option<String>,
    pub environments: Vec<Environment>,
}

#[derive(Debug, Clone)]
pub struct Environment {
    /// The live branch.
    pub branch: BranchName,
    /// `<branch>-next`, `<branch>-next/<activePath>`, or the `stagingBranch` override.
    pub staging_branch: BranchName,
    pub auto_merge: bool,
    /// Strategy-level active gates followed by this environment's own; read on the live tip.
    pub active_gates: Vec<Gate>,
    /// Strategy-level proposed gates followed by this environment's own; read on the staging tip.
    /// Does not include `promoter-previous-environment`, which the planner adds.
    pub proposed_gates: Vec<Gate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub key: GateKey,
    /// Built-in soak gate: success once the live tip is at least this old. Active gates only.
    pub soak_time: Option<Duration>,
    /// The `gates:` entry of this key: promoter computes the gate instead of reading it.
    pub computed: Option<Arc<GateDefinition>>,
}

impl Gate {
    /// A gate read from the SCM.
    pub fn scm(key: GateKey) -> Self {
        Gate {
            key,
            soak_time: None,
            computed: None,
        }
    }
}
