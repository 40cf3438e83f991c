//! One pass from the command line: config → credentials → git cache sync → SCM client → observe →
//! plan (and, for `reconcile`, apply) → a [`PassReport`]. `reconcile`, `reconcile --dry-run` and
//! `status` all run through [`run_pass`]; they differ only in [`Mode`].

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use serde::Serialize;
use time::OffsetDateTime;

use crate::ci_env::Env;
use crate::config::{Config, Provider};
use crate::git::{self, GitCache, GitCredentials};
use crate::model::{BranchName, Secret};
use crate::reconcile::apply::{EnvironmentOutcome, StepOutcome, apply_strategy};
use crate::reconcile::observe::{Reads, observe_strategy};
use crate::reconcile::plan::{EnvironmentPlan, Phase, Step, plan_environment};
use crate::scm::Scm;
use crate::scm::github::GitHub;
use crate::scm::gitlab::GitLab;
use crate::scm::http::{HttpOptions, RequestRecord};

/// The version of the JSON document printed by `--output json` (docs/output.md).
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Observe, plan and apply.
    Reconcile,
    /// Observe and plan; write nothing.
    DryRun,
    /// Observe and summarise; write nothing.
    Status,
}

#[derive(Debug, Clone)]
pub struct PassOptions {
    pub mode: Mode,
    /// Only this strategy (`--strategy NAME`).
    pub strategy: Option<String>,
    /// `--cache-dir`; else `PROMOTER_CACHE_DIR`, else the XDG cache.
    pub cache_dir: Option<PathBuf>,
    /// Total time the pass may wait for rate limits (`--max-wait`).
    pub max_wait: Duration,
    /// Log every SCM request (method, path, status) on stderr.
    pub log_requests: bool,
}

/// What a pass did, for every renderer (text, JSON, Markdown, GitHub summary).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PassReport {
    pub schema_version: u32,
    pub mode: Mode,
    pub repository: String,
    pub web_url: String,
    pub strategies: Vec<StrategyReport>,
}

impl PassReport {
    /// Whether an environment could not be reconciled (exit code 1).
    pub fn failed(&self) -> bool {
        self.environments()
            .any(|e| e.summary.phase == Phase::Failure)
    }

    /// Whether this pass wrote anything (a push, a PR, a merge, a status).
    pub fn changed(&self) -> bool {
        self.environments().any(|e| {
            e.done
                .iter()
                .any(|d| matches!(d.result, crate::reconcile::apply::StepResult::Done { .. }))
        })
    }

    pub fn environments(&self) -> impl Iterator<Item = &EnvironmentReport> {
        self.strategies.iter().flat_map(|s| s.environments.iter())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyReport {
    pub name: String,
    pub environments: Vec<EnvironmentReport>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvironmentReport {
    pub branch: BranchName,
    pub staging_branch: BranchName,
    pub summary: crate::reconcile::plan::Summary,
    /// Writes made in this pass (reconcile) — empty for `--dry-run` and `status`.
    pub done: Vec<StepOutcome>,
    /// Writes the plan would make (`--dry-run`) — empty otherwise.
    pub planned: Vec<Step>,
}

impl EnvironmentReport {
    fn from_outcome(outcome: EnvironmentOutcome) -> Self {
        Self {
            branch: outcome.plan.branch,
            staging_branch: outcome.plan.staging_branch,
            summary: outcome.plan.summary,
            done: outcome.done,
            planned: Vec::new(),
        }
    }

    fn from_plan(plan: EnvironmentPlan, mode: Mode) -> Self {
        let planned = match mode {
            Mode::DryRun => plan
                .steps
                .into_iter()
                .filter(|s| s.action.is_write())
                .collect(),
            Mode::Reconcile | Mode::Status => Vec::new(),
        };
        Self {
            branch: plan.branch,
            staging_branch: plan.staging_branch,
            summary: plan.summary,
            done: Vec::new(),
            planned,
        }
    }
}

/// Callbacks for people watching the pass (progress lines, verbose logs). Never sees a token.
pub trait Progress {
    fn info(&mut self, line: &str);
    fn step(&mut self, plan: &EnvironmentPlan, outcome: &StepOutcome);
}

/// Runs one pass. Errors returned here stop the whole pass (config, credentials, the cache, the
/// remote unreachable); errors of one environment are in its report instead.
pub fn run_pass(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    progress: &mut dyn Progress,
) -> Result<PassReport> {
    let selected = select_strategies(config, options.strategy.as_deref())?;
    let token = config.scm.token(env);
    if config.scm.github_app.is_some() {
        bail!(
            "scm.githubApp is not supported by this version of promoter yet; use a token in `{}` instead",
            config.scm.token_env
        );
    }
    let scm = scm_client(config, token.as_ref(), options, progress)?;

    let cache_root = git::cache_dir(options.cache_dir.as_deref(), env)?;
    let credentials = token.as_ref().map(|(_, secret)| GitCredentials {
        username: config.scm.provider.git_username().to_owned(),
        token: secret.clone(),
    });
    let (mut cache, warnings) =
        GitCache::open(&cache_root, &config.repository.clone_url, credentials)?;
    for warning in warnings {
        progress.info(&format!("warning: {warning}"));
    }
    let wanted: Vec<BranchName> = selected
        .iter()
        .flat_map(|&i| config.strategies[i].environments.iter())
        .flat_map(|e| [e.branch.clone(), e.staging_branch.clone()])
        .collect();
    // The git layer's errors already name what it was doing and the URL (without secrets).
    let sync = cache.sync(&wanted)?;
    if sync.fetched {
        progress.info(&format!(
            "fetched {} objects ({} bytes) from {}",
            sync.received_objects,
            sync.received_bytes,
            cache.url()
        ));
    }

    let now = || OffsetDateTime::now_utc();
    let mut strategies = Vec::new();
    for index in selected {
        let reads = match options.mode {
            Mode::Status => Reads::ForStatus,
            Mode::Reconcile | Mode::DryRun => Reads::ForPlan,
        };
        let mut observed = observe_strategy(config, index, &cache, scm.as_ref(), reads);
        let environments = match options.mode {
            Mode::Reconcile => apply_strategy(
                config,
                &mut observed,
                &mut cache,
                scm.as_ref(),
                &now,
                &mut |plan, outcome| progress.step(plan, outcome),
            )
            .into_iter()
            .map(EnvironmentReport::from_outcome)
            .collect(),
            Mode::DryRun | Mode::Status => (0..observed.environments.len())
                .map(|e| {
                    EnvironmentReport::from_plan(
                        plan_environment(config, &observed, e, now()),
                        options.mode,
                    )
                })
                .collect(),
        };
        strategies.push(StrategyReport {
            name: config.strategies[index].name.clone(),
            environments,
        });
    }
    Ok(PassReport {
        schema_version: SCHEMA_VERSION,
        mode: options.mode,
        repository: config.repository.full_name(),
        web_url: config.repository.web_url.clone(),
        strategies,
    })
}

/// The indices of the strategies a pass covers: all, or the one named by `--strategy`.
pub fn select_strategies(config: &Config, only: Option<&str>) -> Result<Vec<usize>> {
    match only {
        None => Ok((0..config.strategies.len()).collect()),
        Some(name) => match config.strategies.iter().position(|s| s.name == name) {
            Some(index) => Ok(vec![index]),
            None => bail!(
                "no strategy named `{name}` in {}; it has: {}",
                config.path.display(),
                config
                    .strategies
                    .iter()
                    .map(|s| s.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        },
    }
}

fn scm_client(
    config: &Config,
    token: Option<&(String, Secret)>,
    options: &PassOptions,
    progress: &mut dyn Progress,
) -> Result<Box<dyn Scm>> {
    let _ = progress;
    let on_request: Option<crate::scm::http::RequestHook> = options.log_requests.then(|| {
        let hook: crate::scm::http::RequestHook = std::sync::Arc::new(|record: &RequestRecord| {
            let status = record
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
            eprintln!("  {} {} → {status}", record.method.as_str(), record.path);
        });
        hook
    });
    let http = HttpOptions {
        on_request,
        max_wait: options.max_wait,
        token_source: Some(
            token
                .map(|(var, _)| var.clone())
                .unwrap_or_else(|| config.scm.token_env.clone()),
        ),
        ..HttpOptions::default()
    };
    match config.scm.provider {
        Provider::Github => Ok(Box::new(GitHub::new(
            &config.scm.api_url,
            &config.repository.owner,
            &config.repository.name,
            token.map(|(_, secret)| secret.clone()),
            http,
        )?)),
        Provider::Gitlab => Ok(Box::new(GitLab::new(
            &config.scm.api_url,
            &config.repository.owner,
            &config.repository.name,
            token.map(|(_, secret)| secret.clone()),
            http,
        )?)),
        other => bail!(
            "scm.provider `{}` is not supported by this version of promoter yet; github and gitlab are",
            other.as_str()
        ),
    }
}
