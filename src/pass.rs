//! One pass from the command line: config → credentials → git cache sync → SCM client → observe →
//! plan (and, for `reconcile`, apply) → a [`PassReport`]. `reconcile`, `reconcile --dry-run` and
//! `status` all run through [`run_pass`]; they differ only in [`Mode`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use time::OffsetDateTime;

use crate::ci_env::Env;
use crate::config::Config;
use crate::git::{self, FetchProgress, GitCache, GitCredentials, TransportRetry};
use crate::model::{BranchName, Secret};
use crate::reconcile::ahead::{ReadSetup, Readers, waits_for};
use crate::reconcile::apply::{
    ApplyEvent, EnvironmentOutcome, StepOutcome, apply_strategy_watched,
};
use crate::reconcile::observe::Reads;
use crate::reconcile::observe_gates::GateIo;
use crate::reconcile::pacing::{WriteLimits, WriteLog, WritePacer, WriteSummary};
use crate::reconcile::plan::{EnvironmentPlan, Phase, Step, Summary, plan_environment};
use crate::scm::Scm;
use crate::scm::github::app::{AppKey, InstallationTokens};
use crate::scm::http::validators::Validators;
use crate::scm::http::{Clock, HttpOptions, RequestRecord, TokenSource, WaitBudget};
use crate::scm::registry::Connect;
use crate::tls::Trust;

/// The version of the JSON document printed by `--output json` (docs/output.md).
pub(crate) const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Mode {
    /// Observe, plan and apply.
    Reconcile,
    /// Observe and plan; write nothing.
    DryRun,
    /// Observe and summarise; write nothing.
    Status,
}

#[derive(Debug, Clone)]
pub(crate) struct PassOptions {
    pub mode: Mode,
    /// Only this strategy (`--strategy NAME`).
    pub strategy: Option<String>,
    /// Only the strategies of this shard (`--shard K/N`, or GitLab's `parallel:` variables).
    pub shard: Option<crate::shard::Shard>,
    /// `--cache-dir`; else `PROMOTER_CACHE_DIR`, else the XDG cache.
    pub cache_dir: Option<PathBuf>,
    /// Total time the pass may wait for rate limits (`--max-wait`).
    pub max_wait: Duration,
    /// Log every SCM request (method, path, status) on stderr.
    pub log_requests: bool,
    /// `--max-writes`: the most writes this pass makes, instead of the provider's default
    /// ([`WriteLimits::for_provider`]).
    pub max_writes: Option<usize>,
    /// `--jobs`: how many strategies' SCM reads run at once (1: one strategy after another);
    /// writes are made one at a time whatever it is (docs/performance.md, "Concurrency across
    /// strategies").
    pub jobs: usize,
    /// What the pass reads the time from and sleeps on (rate limits, backoff, soak times,
    /// windows): [`crate::scm::http::SystemClock`] in a run; tests give a clock that moves without sleeping
    /// (docs/design.md §11).
    pub clock: Arc<dyn Clock>,
}

/// What a pass did, for every renderer (text, JSON, Markdown, GitHub summary).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PassReport {
    pub schema_version: u32,
    pub mode: Mode,
    pub repository: String,
    pub web_url: String,
    pub strategies: Vec<StrategyReport>,
    /// The writes of a `reconcile` pass against its budget (docs/design.md §3 "Write budget");
    /// absent for `--dry-run` and `status`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub writes: Option<WriteSummary>,
    /// The dashboard issue after a `reconcile` pass with `dashboard.enabled` (docs/insight.md);
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<crate::dashboard::DashboardReport>,
}

impl PassReport {
    /// Whether an environment could not be reconciled (exit code 1).
    pub(crate) fn failed(&self) -> bool {
        self.environments()
            .any(|e| e.summary.phase == Phase::Failure)
    }

    /// Whether this pass wrote anything (a push, a PR, a merge, a status).
    pub(crate) fn changed(&self) -> bool {
        self.environments().any(|e| {
            e.done
                .iter()
                .any(|d| matches!(d.result, crate::reconcile::apply::StepResult::Done { .. }))
        })
    }

    pub(crate) fn environments(&self) -> impl Iterator<Item = &EnvironmentReport> {
        self.strategies.iter().flat_map(|s| s.environments.iter())
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StrategyReport {
    pub name: String,
    pub environments: Vec<EnvironmentReport>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct EnvironmentReport {
    pub branch: BranchName,
    pub staging_branch: BranchName,
    pub summary: crate::reconcile::plan::Summary,
    /// Writes made in this pass (reconcile) — empty for `--dry-run` and `status`.
    pub done: Vec<StepOutcome>,
    /// Writes the plan would make (`--dry-run`) — empty otherwise.
    pub planned: Vec<Step>,
    /// Writes left for the next pass because this pass's write budget ran out (reconcile);
    /// absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deferred: Vec<Step>,
}

impl EnvironmentReport {
    fn from_outcome(outcome: EnvironmentOutcome) -> Self {
        Self {
            branch: outcome.plan.branch,
            staging_branch: outcome.plan.staging_branch,
            summary: outcome.plan.summary,
            done: outcome.done,
            planned: Vec::new(),
            deferred: outcome.deferred,
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
            deferred: Vec::new(),
        }
    }
}

/// Callbacks for people watching the pass (progress lines, verbose logs). Never sees a token.
/// Everything but `info` and `step` has a no-op default, for implementors that draw nothing.
pub(crate) trait Progress {
    fn info(&mut self, line: &str);
    fn step(&mut self, plan: &EnvironmentPlan, outcome: &StepOutcome);
    /// The fetch is receiving objects; called many times a second while it runs.
    fn fetch(&mut self, _progress: &FetchProgress) {}
    /// What one environment of `strategy` is doing now.
    fn environment(&mut self, _strategy: &str, _branch: &BranchName, _activity: &Activity<'_>) {}
    /// A verbose part of the log begins: `name` identifies it (made a valid CI section name by
    /// `ui::sections`), `title` is its header for people.
    fn section_start(&mut self, _name: &str, _title: &str) {}
    /// The part opened with the same `name` ends.
    fn section_end(&mut self, _name: &str) {}
    /// The pass is over: whatever is drawn goes, before the report is printed.
    fn finish(&mut self) {}
}

/// What an environment is doing, for [`Progress::environment`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Activity<'a> {
    /// Reading its branches, `hydrator.metadata` and gates.
    Reading,
    /// A write is under way.
    Writing(&'a Step),
    /// Done for this pass; the summary is what the report shows.
    Finished(&'a Summary),
}

/// Runs one pass. Errors returned here stop the whole pass (config, credentials, the cache, the
/// remote unreachable); errors of one environment are in its report instead.
pub(crate) fn run_pass(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    progress: &mut dyn Progress,
) -> Result<PassReport> {
    let selected = select_strategies(config, options.strategy.as_deref(), options.shard.as_ref())?;
    let (shared, credentials, scm) = clients(config, env, options)?;
    let mut cache = synced_cache(
        config,
        env,
        options,
        &credentials,
        &shared,
        &selected,
        progress,
    )?;

    let now = || OffsetDateTime::from(options.clock.now());
    let limits = WriteLimits::for_provider(config.scm.provider, options.max_writes);
    // The hourly limit spans passes: the writes of the last hour are kept beside the git cache.
    let write_log = (options.mode == Mode::Reconcile && limits.per_hour.is_some())
        .then(|| git::cache_dir(options.cache_dir.as_deref(), env).ok())
        .flatten()
        .map(|dir| WriteLog::path(&dir, &config.scm.api_url));
    let mut writes = WritePacer::new(
        limits,
        Arc::clone(&shared.clock),
        Arc::clone(&shared.budget),
    );
    if let Some(path) = &write_log {
        writes = writes.with_log(&read_write_log(path, progress));
    }
    let reads = match options.mode {
        Mode::Status => Reads::ForStatus,
        Mode::Reconcile | Mode::DryRun => Reads::ForPlan,
    };
    let io = GateIo {
        env,
        trust: &shared.trust,
    };
    // Only writes make a later strategy's reads wait (ahead.rs).
    let waits = match options.mode {
        Mode::Reconcile => waits_for(config, &selected),
        Mode::DryRun | Mode::Status => vec![None; selected.len()],
    };
    let mut strategies = Vec::new();
    std::thread::scope(|scope| -> Result<()> {
        let mut readers = Readers::new(
            scope,
            ReadSetup {
                config,
                scm: scm.as_ref(),
                io,
                validators: shared.validators.as_deref(),
                reads,
                jobs: options.jobs,
                selected: &selected,
                waits_for: &waits,
            },
        );
        for (position, &index) in selected.iter().enumerate() {
            let strategy = &config.strategies[index];
            let name = strategy.name.as_str();
            let section = format!("strategy_{name}");
            progress.section_start(&section, &format!("strategy {name}"));
            for environment in &strategy.environments {
                progress.environment(name, &environment.branch, &Activity::Reading);
            }
            let read = readers.take(position, &cache);
            // What the reading thread would have printed, in this strategy's place.
            for line in read.log {
                eprintln!("{line}");
            }
            for warning in &read.warnings {
                progress.info(&format!("warning: {warning}"));
            }
            shared.take_warnings(progress);
            let mut observed = read.observing.finish(config, &cache);
            // A refused certificate is the run's problem, not each environment's: one error.
            if let Some(untrusted) = shared.trust.refusal() {
                progress.section_end(&section);
                return Err(anyhow::Error::new(untrusted).context(format!(
                    "reading from the SCM API at {}",
                    config.scm.api_url
                )));
            }
            let environments = match options.mode {
                Mode::Reconcile => apply_strategy_watched(
                    config,
                    &mut observed,
                    &mut cache,
                    scm.as_ref(),
                    &now,
                    &mut writes,
                    &mut |event| match event {
                        ApplyEvent::Starting { plan, step } => {
                            progress.environment(name, &plan.branch, &Activity::Writing(step));
                        }
                        ApplyEvent::Finished { plan, outcome } => progress.step(plan, outcome),
                        ApplyEvent::Done(outcome) => progress.environment(
                            name,
                            &outcome.plan.branch,
                            &Activity::Finished(&outcome.plan.summary),
                        ),
                    },
                )
                .into_iter()
                .map(EnvironmentReport::from_outcome)
                .collect(),
                Mode::DryRun | Mode::Status => (0..observed.environments.len())
                    .map(|e| {
                        let plan = plan_environment(config, &observed, e, now());
                        progress.environment(
                            name,
                            &plan.branch,
                            &Activity::Finished(&plan.summary),
                        );
                        EnvironmentReport::from_plan(plan, options.mode)
                    })
                    .collect(),
            };
            log_retries(&mut cache, progress);
            progress.section_end(&section);
            strategies.push(StrategyReport {
                name: strategy.name.clone(),
                environments,
            });
        }
        Ok(())
    })?;
    let mut report = PassReport {
        schema_version: SCHEMA_VERSION,
        mode: options.mode,
        repository: config.repository.full_name(),
        web_url: config.repository.web_url.clone(),
        strategies,
        writes: (options.mode == Mode::Reconcile).then(|| writes.summary()),
        dashboard: None,
    };
    // Only a reconcile pass writes it: `--dry-run` and `status` write nothing (docs/design.md §6).
    if options.mode == Mode::Reconcile && config.dashboard.is_some() {
        let part = match (&options.strategy, &options.shard) {
            (Some(name), _) => Some(format!("`--strategy {name}`")),
            (None, Some(shard)) => Some(format!("shard {shard}")),
            (None, None) => None,
        };
        report.dashboard = Some(match part {
            Some(part) => crate::dashboard::DashboardReport::Skipped {
                reason: format!(
                    "{part} shows part of the repository; the dashboard shows all of it"
                ),
            },
            None => {
                progress.section_start("dashboard", "dashboard issue");
                let outcome =
                    crate::dashboard::publish(config, &report, &cache, scm.as_ref(), &mut writes);
                progress.section_end("dashboard");
                // The dashboard's write counts in the pass's writes.
                report.writes = Some(writes.summary());
                outcome.expect("config.dashboard is set")
            }
        });
    }
    // Only after writes: a pass that wrote nothing leaves every file as it was.
    if let Some(path) = write_log.as_ref().filter(|_| writes.summary().made > 0) {
        save_write_log(path, &writes.log(), progress);
    }
    shared.take_warnings(progress);
    progress.finish();
    Ok(report)
}

/// The writes of the last hour as earlier passes left them; none when there is no file yet. A
/// file that cannot be read is a warning: the pass counts from zero.
fn read_write_log(path: &std::path::Path, progress: &mut dyn Progress) -> WriteLog {
    match std::fs::read_to_string(path) {
        Ok(text) => WriteLog::parse(&text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => WriteLog::default(),
        Err(error) => {
            progress.info(&format!(
                "warning: reading the write log {}: {error}; this pass counts GitHub's hourly write limit from zero",
                path.display()
            ));
            WriteLog::default()
        }
    }
}

/// Replaces the write log whole (a temporary file renamed over it), so a pass that stops midway
/// leaves the old one. A failure is a warning: the next pass counts from what it finds.
fn save_write_log(path: &std::path::Path, log: &WriteLog, progress: &mut dyn Progress) {
    let temporary = path.with_extension("log.tmp");
    let saved =
        std::fs::write(&temporary, log.text()).and_then(|()| std::fs::rename(&temporary, path));
    if let Err(error) = saved {
        progress.info(&format!(
            "warning: writing the write log {}: {error}; the next pass may count fewer of this hour's writes",
            path.display()
        ));
    }
}

/// Git transfers tried again after a transient failure, for the verbose log (the SCM client's
/// retries show in its request log).
fn log_retries(cache: &mut GitCache, progress: &mut dyn Progress) {
    for failure in cache.take_retried() {
        progress.info(&format!(
            "retrying after a transient git failure: {failure}"
        ));
    }
}

/// What every client of one run shares: the clock, the `--max-wait` budget (SCM clients, git's
/// retries and the write pace draw on it) and the trust store (its roots are read only if a URL
/// is `https://`).
struct RunShared {
    clock: Arc<dyn Clock>,
    budget: Arc<WaitBudget>,
    trust: Arc<Trust>,
    /// The conditional-request store in the cache directory (`<cache>/http/`), which the Action
    /// and the GitLab job already keep between runs (docs/performance.md, "Free waiting").
    validators: Option<Arc<Validators>>,
}

impl RunShared {
    fn new(config: &Config, env: Env<'_>, options: &PassOptions) -> Self {
        Self {
            budget: WaitBudget::new(options.max_wait, Arc::clone(&options.clock)),
            clock: Arc::clone(&options.clock),
            trust: Trust::new(config.scm.ca_file.clone()),
            // No cache directory: every GET is sent in full (the git cache fails the run anyway).
            validators: git::cache_dir(options.cache_dir.as_deref(), env)
                .ok()
                .map(|root| Arc::new(Validators::new(root.join("http")))),
        }
    }

    /// Damaged conditional-request files met so far, as warnings.
    fn take_warnings(&self, progress: &mut dyn Progress) {
        if let Some(validators) = &self.validators {
            for warning in validators.take_warnings() {
                progress.info(&format!("warning: {warning}"));
            }
        }
    }
}

/// The token of a run (with where it came from) and, with `scm.githubApp`, the App's tokens.
struct Credentials {
    token: Option<(String, Secret)>,
    /// The user name from `scm.usernameEnv` (HTTP Basic with the token as password).
    username: Option<String>,
    app: Option<Arc<InstallationTokens>>,
}

impl Credentials {
    fn resolve(
        config: &Config,
        env: Env<'_>,
        options: &PassOptions,
        shared: &RunShared,
    ) -> Result<Self> {
        let app = github_app_tokens(config, env, options, shared)?;
        // With a GitHub App, its installation token replaces any token variable.
        let token = match &app {
            Some(tokens) => Some((
                "the GitHub App installation token".to_owned(),
                tokens
                    .token()
                    .map_err(anyhow::Error::new)
                    .with_context(|| {
                        format!(
                            "authenticating as GitHub App {} to {}",
                            config.scm.github_app.as_ref().map_or(0, |a| a.app_id),
                            config.repository.full_name()
                        )
                    })?,
            )),
            None => config.scm.token(env),
        };
        let username = config.scm.username(env)?;
        Ok(Self {
            token,
            username,
            app,
        })
    }
}

/// The cache of the repository, synced with the remote for the live and staging branches of the
/// `selected` strategies. For the commands that read git only (`history`, `where`, `metrics`).
pub(crate) fn open_git(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    selected: &[usize],
    progress: &mut dyn Progress,
) -> Result<GitCache> {
    let shared = RunShared::new(config, env, options);
    let credentials = Credentials::resolve(config, env, options, &shared)?;
    synced_cache(
        config,
        env,
        options,
        &credentials,
        &shared,
        selected,
        progress,
    )
}

/// Opens the cache, with git's retries on the run's wait budget and the run's trust store, and
/// syncs the wanted refs.
/// Opens the cache with the run's credentials, retries and trust store.
fn opened_cache(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    credentials: &Credentials,
    shared: &RunShared,
    progress: &mut dyn Progress,
) -> Result<GitCache> {
    let cache_root = git::cache_dir(options.cache_dir.as_deref(), env)?;
    let git_credentials = credentials
        .token
        .as_ref()
        .map(|(_, secret)| GitCredentials {
            username: credentials
                .username
                .clone()
                .unwrap_or_else(|| config.scm.provider.git_username().to_owned()),
            token: secret.clone(),
        });
    let (mut cache, warnings) =
        GitCache::open(&cache_root, &config.repository.clone_url, git_credentials)?;
    let http = HttpOptions::default();
    cache.set_retry(TransportRetry {
        tries: http.tries,
        backoff: http.backoff,
        budget: Arc::clone(&shared.budget),
    });
    cache.set_trust(Arc::clone(&shared.trust));
    if let Some(tokens) = &credentials.app {
        // git gets the same installation token as the API, re-minted before it expires.
        let tokens = tokens.clone();
        cache.set_token_refresh(Arc::new(move || Ok(tokens.token()?)));
    }
    for warning in warnings {
        progress.info(&format!("warning: {warning}"));
    }
    Ok(cache)
}

/// The SCM client and the git cache (not synced) of `config`, with the credentials, retries and
/// trust store a pass uses: for `promoter gate`, which reads one ref and writes one status.
pub(crate) fn connect(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    progress: &mut dyn Progress,
) -> Result<(Box<dyn Scm>, GitCache)> {
    let (shared, credentials, scm) = clients(config, env, options)?;
    let cache = opened_cache(config, env, options, &credentials, &shared, progress)?;
    Ok((scm, cache))
}

/// What every client of a run shares (one `--max-wait`, one trust store), its credentials, and
/// the SCM client.
fn clients(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
) -> Result<(RunShared, Credentials, Box<dyn Scm>)> {
    let shared = RunShared::new(config, env, options);
    let credentials = Credentials::resolve(config, env, options, &shared)?;
    let scm = scm_client(config, &credentials, options, &shared)?;
    Ok((shared, credentials, scm))
}

fn synced_cache(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    credentials: &Credentials,
    shared: &RunShared,
    selected: &[usize],
    progress: &mut dyn Progress,
) -> Result<GitCache> {
    let mut cache = opened_cache(config, env, options, credentials, shared, progress)?;
    let wanted: Vec<BranchName> = selected
        .iter()
        .flat_map(|&i| config.strategies[i].environments.iter())
        .flat_map(|e| [e.branch.clone(), e.staging_branch.clone()])
        .collect();
    progress.section_start("fetch", &format!("fetching from {}", cache.url()));
    // The git layer's errors already name what it was doing and the URL (without secrets).
    let sync = cache.sync_with_progress(&wanted, &mut |p| progress.fetch(p));
    log_retries(&mut cache, progress);
    let sync = match sync {
        Ok(sync) => sync,
        Err(error) => {
            progress.section_end("fetch");
            return Err(error);
        }
    };
    if sync.fetched {
        progress.info(&format!(
            "fetched {} objects ({} bytes) from {}",
            sync.received_objects,
            sync.received_bytes,
            cache.url()
        ));
    } else {
        progress.info(&format!("nothing to fetch from {}", cache.url()));
    }
    progress.section_end("fetch");
    Ok(cache)
}

/// The indices of the strategies a pass covers: all, or the one named by `--strategy`, and of
/// those the ones in `shard` (which may be none: another shard has them all).
pub(crate) fn select_strategies(
    config: &Config,
    only: Option<&str>,
    shard: Option<&crate::shard::Shard>,
) -> Result<Vec<usize>> {
    let in_shard =
        |index: &usize| shard.is_none_or(|shard| shard.contains(&config.strategies[*index].name));
    match only {
        None => Ok((0..config.strategies.len()).filter(in_shard).collect()),
        Some(name) => match config.strategies.iter().position(|s| s.name == name) {
            Some(index) => Ok(Some(index).into_iter().filter(in_shard).collect()),
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

/// The installation tokens of `scm.githubApp`, when configured: the key is read now, so a bad
/// key fails the run before anything else; tokens are minted on first use.
fn github_app_tokens(
    config: &Config,
    env: Env<'_>,
    options: &PassOptions,
    shared: &RunShared,
) -> Result<Option<Arc<InstallationTokens>>> {
    let Some(app) = &config.scm.github_app else {
        return Ok(None);
    };
    let key = AppKey::load(&app.private_key, env)?;
    let tokens = InstallationTokens::new(
        &config.scm.api_url,
        app.app_id,
        app.installation_id,
        key,
        &config.repository.path(),
        http_options(config, None, options, shared),
    )?;
    Ok(Some(Arc::new(tokens)))
}

/// The run's HTTP options: request log hook, wait budget, where the token came from.
fn http_options(
    config: &Config,
    token: Option<&(String, Secret)>,
    options: &PassOptions,
    shared: &RunShared,
) -> HttpOptions {
    let on_request: Option<crate::scm::http::RequestHook> = options.log_requests.then(|| {
        let hook: crate::scm::http::RequestHook = std::sync::Arc::new(|record: &RequestRecord| {
            let status = record
                .status
                .map_or_else(|| "no answer".to_owned(), |s| s.to_string());
            // A next-page path comes from the SCM's `Link` header.
            let path = crate::untrusted::for_log(&record.path);
            // Kept, when a thread reads ahead of the pass, to be printed in strategy order.
            crate::reconcile::ahead::log_request(format!(
                "  {} {path} → {status}",
                record.method.as_str()
            ));
        });
        hook
    });
    HttpOptions {
        on_request,
        max_wait: options.max_wait,
        budget: Some(Arc::clone(&shared.budget)),
        clock: Arc::clone(&options.clock),
        token_source: Some(
            token
                .map(|(var, _)| var.clone())
                .unwrap_or_else(|| config.scm.token_env.clone()),
        ),
        trust: Arc::clone(&shared.trust),
        validators: shared.validators.clone(),
        ..HttpOptions::default()
    }
}

/// The provider's client, built by its descriptor ([`crate::scm::ProviderInfo::connect`]).
fn scm_client(
    config: &Config,
    credentials: &Credentials,
    options: &PassOptions,
    shared: &RunShared,
) -> Result<Box<dyn Scm>> {
    let token = credentials.token.as_ref();
    let app = credentials.app.as_ref();
    let username = credentials.username.as_deref();
    let provider = config.scm.provider;
    (provider.info().connect)(Connect {
        provider,
        api_url: &config.scm.api_url,
        repository: &config.repository.path(),
        token: token.map(|(_, secret)| secret.clone()),
        username: username.map(str::to_owned),
        // A GitHub App's installation token is asked for before every request.
        minted: app.map(InstallationTokens::auth),
        http: http_options(config, token, options, shared),
        has_gate: &|key| config.has_gate(key),
    })
}
