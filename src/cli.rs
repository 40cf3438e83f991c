//! The command line: clap derive structs only. Behaviour lives in the modules the commands call.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "promoter",
    version,
    about = "Promotes GitOps configuration through environments, only through pull requests"
)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to use colours on stderr and in text output. `NO_COLOR` is honoured with `auto`.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub(crate) struct ConfigArg {
    /// promotion.yaml to read; else `PROMOTER_CONFIG`, else ./promotion.yaml.
    #[arg(short, long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check promotion.yaml without touching the network; print the resolved strategies.
    Validate(ConfigArg),
    /// Print the JSON Schema (draft 2020-12) of promotion.yaml.
    Schema,
    /// One reconcile pass: open, update and merge promotion PRs as far as the gates allow.
    Reconcile(ReconcileArgs),
    /// Read-only: where each environment stands, and why.
    Status(StatusArgs),
    /// A complete promotion on this machine: sandbox forge, simulated hydrator and health checks.
    #[cfg(feature = "sandbox")]
    Demo(DemoArgs),
    /// Run the local sandbox forge (GitHub-compatible, over bare repositories) until Ctrl-C.
    #[cfg(feature = "sandbox")]
    Sandbox(SandboxArgs),
    /// The promotions of each environment, read from git alone (merge commits, trailers,
    /// hydrator.metadata): no SCM request.
    History(HistoryArgs),
    /// Where one DRY commit stands in each environment, from git alone. Exit 0: live everywhere;
    /// 3: on its way (seen, not live everywhere); 4: no environment has seen it.
    Where(WhereArgs),
    /// Deployment frequency and lead time for changes per environment, from git alone.
    Metrics(MetricsArgs),
    /// Write or read one gate's commit status through the configured SCM, for any CI job.
    #[command(subcommand)]
    Gate(GateCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum GateCommand {
    /// Write KEY = STATE as a commit status on an environment's live tip (its staging tip with
    /// `--proposed`) or on a commit.
    Set(GateSetArgs),
    /// Print the state of KEY on an environment's live tip (staging tip with `--proposed`) or on
    /// a commit.
    Get(GateGetArgs),
}

/// Which commit a `gate` command is about.
#[derive(Debug, Args)]
pub(crate) struct GateTarget {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The environment, by its live branch (e.g. `environment/prod`): its live tip, read with one
    /// ref listing.
    #[arg(
        long,
        value_name = "BRANCH",
        required_unless_present = "sha",
        conflicts_with = "sha"
    )]
    pub environment: Option<String>,
    /// A commit, by its full SHA.
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// The environment's staging tip (the promotion PR's head) instead of its live tip.
    #[arg(long, requires = "environment", conflicts_with = "sha")]
    pub proposed: bool,
    /// The strategy of the environment, when several strategies share its live branch (monorepo
    /// mode: each has its own staging branch).
    #[arg(long, value_name = "NAME", requires = "environment")]
    pub strategy: Option<String>,
    /// Where the cached bare repositories live; else `PROMOTER_CACHE_DIR`, else
    /// `${XDG_CACHE_HOME:-~/.cache}/promoter`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct GateSetArgs {
    /// The gate key (the commit status name), as listed in promotion.yaml.
    #[arg(value_name = "KEY")]
    pub key: String,
    #[arg(value_name = "STATE", value_enum)]
    pub state: GateStateArg,
    /// Shown next to the status (cut to 140 characters).
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// A link from the status (e.g. the CI job).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    #[command(flatten)]
    pub target: GateTarget,
}

#[derive(Debug, Args)]
pub(crate) struct GateGetArgs {
    /// The gate key (the commit status name).
    #[arg(value_name = "KEY")]
    pub key: String,
    #[command(flatten)]
    pub target: GateTarget,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum GateStateArg {
    Success,
    Pending,
    Failure,
}

/// What the git-only commands (`history`, `where`, `metrics`) read.
#[derive(Debug, Args)]
pub(crate) struct GitReadArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this strategy.
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    /// Only this environment (its live branch, e.g. `environment/prod`).
    #[arg(long, value_name = "BRANCH")]
    pub environment: Option<String>,
    /// Where the cached bare repositories live; else `PROMOTER_CACHE_DIR`, else
    /// `${XDG_CACHE_HOME:-~/.cache}/promoter`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,
}

#[derive(Debug, Args)]
pub(crate) struct HistoryArgs {
    #[command(flatten)]
    pub read: GitReadArgs,
    /// Only promotions merged since: a date (`2026-11-01`), an RFC 3339 time, or a duration
    /// back from now (`30d`, `12h`).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct WhereArgs {
    /// The DRY commit: 4 to 64 hex digits (a prefix is enough).
    #[arg(value_name = "DRY_SHA")]
    pub dry_sha: String,
    #[command(flatten)]
    pub read: GitReadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct MetricsArgs {
    #[command(flatten)]
    pub read: GitReadArgs,
    /// Start of the window: a date, an RFC 3339 time, or a duration back from `--until`.
    #[arg(long, value_name = "WHEN", default_value = "30d")]
    pub since: String,
    /// End of the window: a date or an RFC 3339 time; default now.
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
pub(crate) struct SandboxArgs {
    /// Directory holding the bare repositories (`<owner>/<name>.git`); created when missing.
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// The API and git token the forge accepts (default `sandbox`; it is not a secret).
    #[arg(long, value_name = "TOKEN")]
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct PassArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this strategy.
    #[arg(long, value_name = "NAME")]
    pub strategy: Option<String>,
    /// Only shard K of N (1-based): the strategies whose name hashes to it, so N parallel CI jobs
    /// split them; else GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL` (`parallel: N`).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<String>,
    /// Where the cached bare repositories live; else `PROMOTER_CACHE_DIR`, else
    /// `${XDG_CACHE_HOME:-~/.cache}/promoter`.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Longest total wait for SCM rate limits, in seconds; past it the environment fails.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub max_wait: u64,
    /// Also write the JSON report to this file (replaced whole), whatever `--output` is.
    #[arg(long, value_name = "PATH")]
    pub report_file: Option<PathBuf>,
    /// How many strategies' SCM reads run at once, 1 to 100; 1 reads one strategy after
    /// another. Writes are made one at a time whatever it is.
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::reconcile::ahead::DEFAULT_JOBS,
        value_parser = parse_jobs
    )]
    pub jobs: usize,
}

/// `--jobs`: a whole number from 1 to [`crate::reconcile::ahead::MAX_JOBS`] (GitHub allows at most
/// 100 concurrent requests).
fn parse_jobs(value: &str) -> Result<usize, String> {
    let max = crate::reconcile::ahead::MAX_JOBS;
    match value.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{value}` is not a number of jobs; give a whole number from 1 to {max}, e.g. `--jobs 4` (1 reads one strategy after another)"
        )),
    }
}

#[derive(Debug, Args)]
pub(crate) struct ReconcileArgs {
    #[command(flatten)]
    pub pass: PassArgs,
    /// Observe and print the plan; write nothing (no push, no API write).
    #[arg(long)]
    pub dry_run: bool,
    /// The most writes (PR create or update, merge, status, push, dashboard) this pass makes; the
    /// environments left are reported as deferred and the next pass goes on. Default: 80 on
    /// GitHub (its limit on content-creating requests a minute), no limit elsewhere.
    #[arg(long, value_name = "N", value_parser = parse_max_writes, conflicts_with = "dry_run")]
    pub max_writes: Option<usize>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}

/// `--max-writes`: a whole number from 1. Zero is refused rather than meaning "read only", which
/// is what `--dry-run` is for (one way to write nothing).
fn parse_max_writes(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("0 writes nothing; use `--dry-run` for a pass that writes nothing".into()),
        Ok(n) => Ok(n),
        Err(_) => Err(format!(
            "`{value}` is not a number of writes; give a whole number from 1, e.g. `--max-writes 40`"
        )),
    }
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    #[command(flatten)]
    pub pass: PassArgs,
    #[arg(long, value_enum, default_value_t = StatusFormat::Text)]
    pub output: StatusFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusFormat {
    Text,
    Json,
    Markdown,
}

#[cfg(feature = "sandbox")]
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Keep the forge's repositories and the cache in DIR to inspect them afterwards.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
}
