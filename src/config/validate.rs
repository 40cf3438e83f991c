//! From promotion.yaml text to the checked [`Config`], collecting every problem at once:
//! YAML syntax (fatal, alone), then structure (`structure.rs`, driven by the JSON Schema of
//! `raw.rs`), then serde into the raw types, then the meaning (SPEC §2 rules) and the defaults
//! (`defaults.rs`). Semantic problems at a path the structural pass already reported are dropped,
//! so one mistake is reported once.
//!
//! Owns the rules and their wording. Does not own reading the file (`mod.rs`) or the shape of the
//! file (`raw.rs`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use crate::ci_env::{self, Env};
use crate::model::{BranchName, GateKey, PREVIOUS_ENVIRONMENT};

use super::document::{Document, Pos, child_path, item_path};
use super::problem::{ConfigErrors, Problem};
use super::raw::{self, RawActiveGate, RawConfig, RawEnvironment, RawProposedGate, RawStrategy};
use super::{
    Config, Environment, Gate, GithubApp, PrivateKeySource, Provider, PullRequestTemplates,
    Repository, ScmConfig, Strategy, defaults,
};

/// Checks `text` (read from `file`, named in every problem) and applies the defaults, reading the
/// environment only through `env`.
pub fn check(text: &str, file: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    let doc = Document::parse(text).map_err(|problem| {
        ConfigErrors::new(
            file,
            vec![Problem::new(problem.pos, problem.path, problem.message)],
        )
    })?;
    let mut problems: Vec<Problem> = doc
        .problems
        .iter()
        .map(|p| {
            Problem::new(p.pos, p.path.clone(), p.message.clone())
                .with_hint("remove one of them; YAML keys must be unique in a mapping")
        })
        .collect();
    let mut value = doc.value.clone();
    let placeholders = super::structure::check(&doc, &raw::schema(), &mut value, &mut problems);
    let raw: RawConfig = match serde_json::from_value(value) {
        Ok(raw) => raw,
        Err(error) => {
            // The structural pass repairs what serde would refuse; reaching this is a bug there.
            problems.push(Problem::new(
                Pos::START,
                "",
                format!("cannot read the file: {error}"),
            ));
            return Err(ConfigErrors::new(file, problems));
        }
    };
    let mut checker = Checker {
        doc: &doc,
        file,
        env,
        problems: Vec::new(),
    };
    let config = checker.config(raw);
    let mut structural: Vec<Problem> = problems.clone();
    structural.extend(
        placeholders
            .into_iter()
            .map(|path| Problem::new(Pos::START, path, "")),
    );
    problems.extend(
        checker
            .problems
            .into_iter()
            .filter(|semantic| !structural.iter().any(|s| s.covers(&semantic.path))),
    );
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigErrors::new(file, problems)),
    }
}

/// Parses a duration: an integer and one unit, `s`, `m`, `h` or `d` (`90s`, `30m`, `2h`, `1d`).
/// Zero is refused: a zero soak is no gate at all.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let unit_at = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(unit_at);
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(format!("`{text}` is not a duration")),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a duration"));
    }
    let count: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is too long a duration"))?;
    let seconds = count
        .checked_mul(seconds_per_unit)
        .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    if seconds == 0 {
        return Err(format!("`{text}` is zero; a soak time must be longer"));
    }
    Ok(Duration::from_secs(seconds))
}

/// A duration in the largest unit that divides it exactly: `90s`, `30m`, `2h`, `1d`.
pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    for (size, unit) in [(86_400, "d"), (3_600, "h"), (60, "m")] {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

const DURATION_HINT: &str = "write an integer and one unit: `90s`, `30m`, `2h` or `1d`";

fn check_env_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
        ))
    }
}

struct Checker<'a> {
    doc: &'a Document,
    file: &'a Path,
    env: Env<'a>,
    problems: Vec<Problem>,
}

/// Where a branch is used in the file, for duplicate messages.
struct BranchUse {
    path: String,
    role: &'static str,
    strategy: usize,
}

impl Checker<'_> {
    fn at_value(&mut self, path: &str, message: impl Into<String>) -> &mut Problem {
        let problem = Problem::new(self.doc.value_pos(path), path, message);
        self.problems.push(problem);
        self.problems.last_mut().expect("just pushed")
    }

    fn config(&mut self, raw: RawConfig) -> Option<Config> {
        let scm = self.scm(&raw.scm);
        let repository = scm
            .as_ref()
            .and_then(|scm| self.repository(raw.repository.as_ref(), scm));
        let pull_request = self.pull_request(raw.pull_request.as_ref());
        let strategies = self.strategies(&raw.strategies);
        Some(Config {
            path: self.file.to_owned(),
            scm: scm?.0,
            repository: repository?,
            pull_request,
            strategies: strategies?,
        })
    }

    /// The SCM settings and whether `apiUrl` was written in the file.
    fn scm(&mut self, raw: &raw::RawScm) -> Option<(ScmConfig, bool)> {
        let provider = match raw.provider {
            raw::RawProvider::Github => Provider::Github,
            raw::RawProvider::Gitlab => Provider::Gitlab,
            raw::RawProvider::Gitea => Provider::Gitea,
            raw::RawProvider::Forgejo => Provider::Forgejo,
        };
        let written = raw.api_url.as_deref().map(str::trim);
        let api_url = match defaults::api_url(provider, written, self.env) {
            Some(url) => match defaults::check_http_url(&url) {
                Ok(()) => Some(url),
                Err(message) => {
                    let source = if written.is_some() {
                        String::new()
                    } else {
                        " (from the environment)".to_owned()
                    };
                    self.at_value("scm.apiUrl", format!("{message}{source}"))
                        .hint = Some("write the API base, e.g. `https://api.github.com`".into());
                    None
                }
            },
            None => {
                let name = provider.as_str();
                self.at_value(
                    "scm.apiUrl",
                    format!("`apiUrl` is required for provider `{name}`"),
                )
                .hint = Some(format!(
                    "the API base of your {name} instance, e.g. `https://{name}.example.com/api/v1`"
                ));
                None
            }
        };
        let token_env = match raw.token_env.as_deref() {
            Some(name) => {
                if let Err(message) = check_env_name(name) {
                    self.at_value("scm.tokenEnv", message);
                }
                name.to_owned()
            }
            None => provider.default_token_env().to_owned(),
        };
        let github_app = match &raw.github_app {
            Some(app) => self.github_app(app, provider, raw.token_env.is_some()),
            None => Some(None),
        };
        Some((
            ScmConfig {
                provider,
                api_url: api_url?,
                token_env,
                github_app: github_app?,
            },
            written.is_some(),
        ))
    }

    fn github_app(
        &mut self,
        app: &raw::RawGithubApp,
        provider: Provider,
        token_env_written: bool,
    ) -> Option<Option<GithubApp>> {
        let path = "scm.githubApp";
        let mut ok = true;
        if provider != Provider::Github {
            ok = false;
            self.at_value(
                path,
                "`githubApp` is only supported with `provider: github`",
            )
            .hint = Some(format!(
                "{} authenticates with a token: remove `githubApp` and set `tokenEnv`",
                provider.as_str()
            ));
        }
        if token_env_written {
            ok = false;
            self.at_value(path, "`githubApp` and `tokenEnv` cannot both be set")
                .hint =
                Some("the App's installation token replaces the token: remove one of them".into());
        }
        let private_key = match (&app.private_key_env, &app.private_key_path) {
            (Some(name), None) => match check_env_name(name) {
                Ok(()) => Some(PrivateKeySource::Env(name.clone())),
                Err(message) => {
                    self.at_value("scm.githubApp.privateKeyEnv", message);
                    None
                }
            },
            (None, Some(key_path)) if !key_path.trim().is_empty() => {
                let key_path = Path::new(key_path.trim());
                // Relative to the config file, so the job's working directory does not matter.
                let base = self.file.parent().unwrap_or(Path::new(""));
                Some(PrivateKeySource::Path(base.join(key_path)))
            }
            (None, Some(_)) => {
                self.at_value(
                    "scm.githubApp.privateKeyPath",
                    "the private key path is empty",
                );
                None
            }
            (Some(_), Some(_)) | (None, None) => {
                self.at_value(
                    path,
                    "`githubApp` needs exactly one of `privateKeyEnv` and `privateKeyPath`",
                )
                .hint =
                    Some("name the variable holding the PEM key, or the key file's path".into());
                None
            }
        };
        let private_key = private_key?;
        ok.then_some(Some(GithubApp {
            app_id: app.app_id,
            installation_id: app.installation_id,
            private_key,
        }))
    }

    fn repository(
        &mut self,
        raw: Option<&raw::RawRepository>,
        (scm, api_url_written): &(ScmConfig, bool),
    ) -> Option<Repository> {
        let (owner, name, clone_url) = match raw {
            Some(raw) => {
                let owner = self.repository_part("repository.owner", &raw.owner, scm.provider);
                let name = self.repository_part("repository.name", &raw.name, scm.provider);
                let clone_url = match raw.clone_url.as_deref().map(str::trim) {
                    Some("") => {
                        self.at_value("repository.cloneUrl", "`cloneUrl` is empty")
                            .hint = Some("remove it to derive it from the SCM's web URL".into());
                        return None;
                    }
                    other => other.map(str::to_owned),
                };
                (owner?, name?, clone_url)
            }
            None => match defaults::repository_from_env(scm.provider, self.env) {
                Some((owner, name, _)) => (owner, name, None),
                None => {
                    let variable = match scm.provider {
                        Provider::Gitlab => "GitLab CI (`CI_PROJECT_PATH`)",
                        _ => "GitHub Actions (`GITHUB_REPOSITORY`)",
                    };
                    self.at_value("repository", "missing `repository`").hint = Some(format!(
                        "add `repository:` with `owner` and `name`; it may be omitted only inside {variable}"
                    ));
                    return None;
                }
            },
        };
        let web = defaults::web_base(scm.provider, &scm.api_url, *api_url_written, self.env);
        let web_url = format!("{web}/{owner}/{name}");
        Some(Repository {
            clone_url: clone_url.unwrap_or_else(|| format!("{web_url}.git")),
            web_url,
            owner,
            name,
        })
    }

    fn repository_part(&mut self, path: &str, text: &str, provider: Provider) -> Option<String> {
        let text = text.trim();
        let is_owner = path.ends_with("owner");
        let problem = if text.is_empty() {
            Some(("is empty".to_owned(), None))
        } else if text.contains(char::is_whitespace) {
            Some(("cannot contain spaces".to_owned(), None))
        } else if text.starts_with('/') || text.ends_with('/') || text.contains("//") {
            Some((
                "cannot start or end with `/` or contain `//`".to_owned(),
                None,
            ))
        } else if text.contains('/') && !(is_owner && provider == Provider::Gitlab) {
            let hint = if is_owner {
                "only GitLab owners are namespace paths (`group/subgroup`)"
            } else {
                "put the namespace in `owner` and only the repository's name in `name`"
            };
            Some(("cannot contain `/`".to_owned(), Some(hint)))
        } else if !is_owner && text.ends_with(".git") {
            Some((
                "ends with `.git`".to_owned(),
                Some("write the name without `.git`"),
            ))
        } else {
            None
        };
        match problem {
            None => Some(text.to_owned()),
            Some((message, hint)) => {
                let what = if is_owner { "owner" } else { "name" };
                let problem =
                    self.at_value(path, format!("the repository {what} `{text}` {message}"));
                problem.hint = hint.map(str::to_owned);
                None
            }
        }
    }

    fn pull_request(&mut self, raw: Option<&raw::RawPullRequest>) -> PullRequestTemplates {
        let Some(raw) = raw else {
            return PullRequestTemplates::default();
        };
        if raw.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.at_value("pullRequest.title", "the title template is empty")
                .hint = Some("remove `title` to use the default title".into());
        }
        for (key, template) in [("title", &raw.title), ("description", &raw.description)] {
            let Some(template) = template else { continue };
            let env = minijinja::Environment::new();
            if let Err(error) = env.template_from_str(template) {
                let detail = error.detail().map_or(String::new(), |d| format!(": {d}"));
                let line = error
                    .line()
                    .map_or(String::new(), |l| format!(" (template line {l})"));
                self.at_value(
                    &format!("pullRequest.{key}"),
                    format!(
                        "the {key} template does not parse: {}{detail}{line}",
                        error.kind()
                    ),
                );
            }
        }
        PullRequestTemplates {
            title: raw.title.clone(),
            description: raw.description.clone(),
        }
    }

    fn strategies(&mut self, raw: &[RawStrategy]) -> Option<Vec<Strategy>> {
        if raw.is_empty() {
            self.at_value("strategies", "at least one strategy is required")
                .hint = Some("add a strategy with a `name` and its `environments`".into());
            return None;
        }
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut branches: BTreeMap<String, Vec<BranchUse>> = BTreeMap::new();
        let mut strategies = Some(Vec::new());
        for (index, strategy) in raw.iter().enumerate() {
            let path = item_path("strategies", index);
            let name = strategy.name.trim();
            if name.is_empty() {
                self.at_value(&child_path(&path, "name"), "the strategy name is empty");
            } else if let Some(first) = names.get(name) {
                self.at_value(
                    &child_path(&path, "name"),
                    format!("strategy name `{name}` is already used by strategies[{first}]"),
                )
                .hint = Some("strategy names must be unique in the file".into());
            } else {
                names.insert(name, index);
            }
            let checked = self.strategy(strategy, &path, index, &mut branches);
            strategies = strategies.zip(checked).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        self.branch_conflicts(&branches);
        strategies
    }

    fn strategy(
        &mut self,
        raw: &RawStrategy,
        path: &str,
        index: usize,
        branches: &mut BTreeMap<String, Vec<BranchUse>>,
    ) -> Option<Strategy> {
        let active_path =
            self.active_path(raw.active_path.as_deref(), &child_path(path, "activePath"));
        let active = self.active_gates(
            &raw.active_commit_statuses,
            &child_path(path, "activeCommitStatuses"),
        );
        let proposed = self.proposed_gates(
            &raw.proposed_commit_statuses,
            &child_path(path, "proposedCommitStatuses"),
        );
        let environments_path = child_path(path, "environments");
        if raw.environments.is_empty() {
            self.at_value(&environments_path, "at least one environment is required")
                .hint =
                Some("list the environments in promotion order, each with its `branch`".into());
        }
        let mut environments = Some(Vec::new());
        for (position, environment) in raw.environments.iter().enumerate() {
            let env_path = item_path(&environments_path, position);
            let checked = self.environment(
                environment,
                &env_path,
                active_path.as_ref().and_then(Option::as_deref),
                active.as_deref().unwrap_or_default(),
                proposed.as_deref().unwrap_or_default(),
            );
            if let Some(environment) = &checked {
                let live_clash = self.note_branch(
                    branches,
                    &environment.branch,
                    child_path(&env_path, "branch"),
                    "live",
                    index,
                );
                let written = raw.environments[position].staging_branch.is_some();
                // A staging branch derived from a clashing live branch clashes too: say it once.
                if written || !live_clash {
                    let staging_path =
                        child_path(&env_path, if written { "stagingBranch" } else { "branch" });
                    self.note_branch(
                        branches,
                        &environment.staging_branch,
                        staging_path,
                        "staging",
                        index,
                    );
                }
            }
            environments = environments.zip(checked).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        if raw.environments.is_empty() {
            return None;
        }
        Some(Strategy {
            name: raw.name.trim().to_owned(),
            active_path: active_path?,
            environments: environments?,
        })
    }

    /// `Some(None)` when absent or empty; `None` when invalid.
    fn active_path(&mut self, raw: Option<&str>, path: &str) -> Option<Option<String>> {
        let Some(text) = raw.filter(|t| !t.is_empty()) else {
            return Some(None);
        };
        let problem = if text.starts_with('/') || text.ends_with('/') {
            Some("cannot start or end with `/`")
        } else if text
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty())
        {
            Some("cannot contain `.`, `..` or empty components")
        } else if text.contains(char::is_whitespace) || text.contains('\\') {
            Some("cannot contain spaces or `\\`")
        } else {
            None
        };
        match problem {
            None => Some(Some(text.to_owned())),
            Some(message) => {
                self.at_value(path, format!("activePath `{text}` {message}"))
                    .hint =
                    Some("a path relative to the repository root, e.g. `apps/guestbook`".into());
                None
            }
        }
    }

    fn environment(
        &mut self,
        raw: &RawEnvironment,
        path: &str,
        active_path: Option<&str>,
        strategy_active: &[Gate],
        strategy_proposed: &[Gate],
    ) -> Option<Environment> {
        let branch_path = child_path(path, "branch");
        let branch = match BranchName::parse(raw.branch.trim()) {
            Ok(branch) => Some(branch),
            Err(reason) => {
                self.at_value(
                    &branch_path,
                    format!("`{}` is not a valid branch name: {reason}", raw.branch),
                );
                None
            }
        };
        let staging_branch = match (&raw.staging_branch, &branch) {
            (Some(text), _) => {
                let staging_path = child_path(path, "stagingBranch");
                match BranchName::parse(text.trim()) {
                    Ok(staging) if Some(&staging) == branch.as_ref() => {
                        self.at_value(&staging_path, "the staging branch cannot be the live branch")
                            .hint = Some("the hydrator pushes to the staging branch; promoter merges it into `branch`".into());
                        None
                    }
                    Ok(staging) => Some(staging),
                    Err(reason) => {
                        self.at_value(
                            &staging_path,
                            format!("`{text}` is not a valid branch name: {reason}"),
                        );
                        None
                    }
                }
            }
            (None, Some(branch)) => {
                let derived = match active_path {
                    Some(active_path) => format!("{branch}-next/{active_path}"),
                    None => format!("{branch}-next"),
                };
                match BranchName::parse(&derived) {
                    Ok(staging) => Some(staging),
                    Err(reason) => {
                        self.at_value(
                            &branch_path,
                            format!("the derived staging branch `{derived}` is not a valid branch name: {reason}"),
                        )
                        .hint = Some("set `stagingBranch` for this environment".into());
                        None
                    }
                }
            }
            (None, None) => None,
        };
        let active = self.active_gates(
            &raw.active_commit_statuses,
            &child_path(path, "activeCommitStatuses"),
        );
        let proposed = self.proposed_gates(
            &raw.proposed_commit_statuses,
            &child_path(path, "proposedCommitStatuses"),
        );
        Some(Environment {
            branch: branch?,
            staging_branch: staging_branch?,
            auto_merge: raw.auto_merge.unwrap_or(true),
            active_gates: merge_gates(strategy_active, &active?),
            proposed_gates: merge_gates(strategy_proposed, &proposed?),
        })
    }

    fn active_gates(&mut self, raw: &[RawActiveGate], path: &str) -> Option<Vec<Gate>> {
        let entries: Vec<(&str, Option<&str>)> = raw
            .iter()
            .map(|gate| (gate.key.as_str(), gate.soak_time.as_deref()))
            .collect();
        self.gates(&entries, path)
    }

    fn proposed_gates(&mut self, raw: &[RawProposedGate], path: &str) -> Option<Vec<Gate>> {
        let entries: Vec<(&str, Option<&str>)> =
            raw.iter().map(|gate| (gate.key.as_str(), None)).collect();
        self.gates(&entries, path)
    }

    fn gates(&mut self, entries: &[(&str, Option<&str>)], path: &str) -> Option<Vec<Gate>> {
        let mut gates = Some(Vec::new());
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (index, (key, soak)) in entries.iter().enumerate() {
            let gate_path = item_path(path, index);
            let key_path = child_path(&gate_path, "key");
            let key = match GateKey::parse(key) {
                Ok(_) if *key == PREVIOUS_ENVIRONMENT => {
                    self.at_value(
                        &key_path,
                        format!("`{PREVIOUS_ENVIRONMENT}` is written by promoter itself"),
                    )
                    .hint = Some(
                        "it is added to every environment after the first; remove it here".into(),
                    );
                    None
                }
                Ok(_) if seen.contains_key(key) => {
                    let first = seen[key];
                    self.at_value(
                        &key_path,
                        format!("gate `{key}` is already listed at {path}[{first}]"),
                    );
                    None
                }
                Ok(parsed) => {
                    seen.insert(key, index);
                    Some(parsed)
                }
                Err(reason) => {
                    self.at_value(&key_path, reason);
                    None
                }
            };
            let soak_time = match soak {
                None => Some(None),
                Some(text) => match parse_duration(text) {
                    Ok(duration) => Some(Some(duration)),
                    Err(reason) => {
                        self.at_value(&child_path(&gate_path, "soakTime"), reason)
                            .hint = Some(DURATION_HINT.into());
                        None
                    }
                },
            };
            let gate = key
                .zip(soak_time)
                .map(|(key, soak_time)| Gate { key, soak_time });
            gates = gates.zip(gate).map(|(mut all, one)| {
                all.push(one);
                all
            });
        }
        gates
    }

    fn note_branch(
        &mut self,
        branches: &mut BTreeMap<String, Vec<BranchUse>>,
        branch: &BranchName,
        path: String,
        role: &'static str,
        strategy: usize,
    ) -> bool {
        let uses = branches.entry(branch.as_str().to_owned()).or_default();
        // A live branch shared by several strategies is monorepo mode; anything else used twice is
        // two environments fighting over one branch.
        let clash = uses.iter().find(|other| {
            other.strategy == strategy || role == "staging" || other.role == "staging"
        });
        if let Some(other) = clash {
            let message = format!(
                "branch `{branch}` is used as a {role} branch here and as the {} branch at {}",
                other.role,
                other
                    .path
                    .rsplit_once('.')
                    .map_or(other.path.as_str(), |(env, _)| env)
            );
            let problem = self.at_value(&path, message);
            problem.hint = Some(if role == "staging" && path.ends_with(".branch") {
                "the staging branch is `<branch>-next`; set `stagingBranch` to choose another"
                    .into()
            } else {
                "every environment needs its own live and staging branch".into()
            });
        }
        let clashed = clash.is_some();
        uses.push(BranchUse {
            path,
            role,
            strategy,
        });
        clashed
    }

    /// git cannot hold both `a` and `a/b` as branches (one would be a folder of the other).
    fn branch_conflicts(&mut self, branches: &BTreeMap<String, Vec<BranchUse>>) {
        for (name, uses) in branches {
            let prefix = format!("{name}/");
            for (longer, longer_uses) in branches.range(prefix.clone()..) {
                if !longer.starts_with(&prefix) {
                    break;
                }
                let (Some(short_use), Some(long_use)) = (uses.first(), longer_uses.first()) else {
                    continue;
                };
                let message = format!(
                    "branch `{longer}` cannot exist next to branch `{name}` (used at {}): git stores `{name}` as a file, not a folder",
                    short_use.path
                );
                let path = long_use.path.clone();
                self.at_value(&path, message).hint = Some(
                    "in monorepo mode every strategy on a shared live branch needs an `activePath`"
                        .into(),
                );
            }
        }
    }
}

/// Strategy-level gates, then the environment's own; an environment entry with the same key
/// replaces the strategy's (so an environment can set its own `soakTime`).
fn merge_gates(strategy: &[Gate], own: &[Gate]) -> Vec<Gate> {
    let mut merged = strategy.to_vec();
    for gate in own {
        match merged.iter_mut().find(|existing| existing.key == gate.key) {
            Some(existing) => *existing = gate.clone(),
            None => merged.push(gate.clone()),
        }
    }
    merged
}

/// The CI-derived facts `validate` mentions; kept here so the wording of defaults stays in one place.
pub fn token_hint(scm: &ScmConfig, env: Env<'_>) -> String {
    let ci = match ci_env::detect(env) {
        Some(ci_env::Ci::GithubActions) => {
            " (in GitHub Actions: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`)"
        }
        Some(ci_env::Ci::GitlabCi) => " (in GitLab CI: a masked CI/CD variable)",
        None => "",
    };
    format!(
        "export {} or {} with an API token{ci}",
        scm.token_env,
        super::PROMOTER_TOKEN
    )
}
