//! promoter: one idempotent GitOps promotion pass per run. See README.md and docs/design.md.
//!
//! `main.rs` calls [`main_with`]; everything else is reached from here.

mod ci_env;
mod cli;
mod config;
mod dashboard;
#[cfg(feature = "sandbox")]
mod demo;
mod exit;
mod gate_command;
mod gates;
mod git;
mod github_actions;
mod insight;
mod model;
mod pass;
mod reconcile;
mod redact;
mod report;
mod scm;
mod shard;
mod stdout;
mod tls;
mod ui;
mod untrusted;

// The deliberate library surface beside `main_with`/`main_with_clock`: what the integration
// tests call. Every module is private to the crate (docs/design.md §11, "Library surface").
pub use config::raw::schema as config_schema;
pub use config::{Config, ConfigErrors, LoadError, load as load_config, parse as parse_config};
pub use git::{parse_metadata, parse_note};
pub use scm::github::app::AppKey;
pub use scm::http::Clock;

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::ci_env::Env;
use crate::cli::{
    Cli, ColorChoice, Command, ConfigArg, GlobalArgs, OutputFormat, PassArgs, StatusFormat,
};
use crate::exit::{CommandResult, Exit};
use crate::pass::{Mode, PassOptions};

/// Runs the command line `args` with `env` as the only view of the process environment.
pub fn main_with(
    args: impl IntoIterator<Item = OsString>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
) -> ExitCode {
    main_with_clock(args, env, std::sync::Arc::new(scm::http::SystemClock))
}

/// [`main_with`] with the clock a pass reads the time from and sleeps on. The binary passes the
/// system clock; only Rust callers (the integration tests) can pass another one, so there is no
/// flag or variable that changes a user's run (docs/design.md §11 "Time in tests").
pub fn main_with_clock(
    args: impl IntoIterator<Item = OsString>,
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    clock: std::sync::Arc<dyn scm::http::Clock>,
) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            // clap prints help/version on stdout (exit 0) and usage errors on stderr (exit 2).
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    let color = stderr_color(&cli, env);
    match run(&cli, env, clock) {
        Ok(exit) => exit.into(),
        Err(error) => {
            eprint!("{}", error.render(color));
            error.exit().into()
        }
    }
}

/// Whether to colour output: `always`, `never`, or with `auto` a terminal and no `NO_COLOR`
/// (no-color.org: any non-empty value disables colour) and no `TERM=dumb`.
pub fn wants_color(choice: ColorChoice, env: Env<'_>, is_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal
                && env("NO_COLOR").is_none_or(|value| value.is_empty())
                && env("TERM").as_deref() != Some("dumb")
        }
    }
}

fn run(cli: &Cli, env: Env<'_>, clock: std::sync::Arc<dyn scm::http::Clock>) -> CommandResult {
    match &cli.command {
        Command::Validate(args) => validate(args, &cli.global, env),
        Command::Schema => {
            print(&config::raw::schema_text())?;
            Ok(Exit::Success)
        }
        Command::Reconcile(args) => {
            let mode = if args.dry_run {
                Mode::DryRun
            } else {
                Mode::Reconcile
            };
            let report = run_pass(&args.pass, mode, args.max_writes, &cli.global, env, clock)?;
            let json = args.output == OutputFormat::Json;
            match args.output {
                OutputFormat::Text => print(&report::text(&report))?,
                OutputFormat::Json => print(&report::json(&report))?,
            }
            // docs/insight.md "Dashboard": a dashboard that could not be written is a warning;
            // the exit code stays the pass's.
            if let Some(dashboard) = &report.dashboard {
                if args.output == OutputFormat::Text {
                    println!("{}", dashboard.line());
                }
                if let Some(warning) = dashboard.warning()
                    && !cli.global.quiet
                {
                    eprintln!("warning: {warning}");
                }
            }
            // After the report is printed, so a file that cannot be written still shows the pass.
            finish_pass(&report, &args.pass, json, cli, env)
        }
        Command::Status(args) => {
            let report = run_pass(&args.pass, Mode::Status, None, &cli.global, env, clock)?;
            let json = args.output == StatusFormat::Json;
            match args.output {
                StatusFormat::Text => print(&report::text(&report))?,
                StatusFormat::Json => print(&report::json(&report))?,
                StatusFormat::Markdown => print(&report::markdown(&report))?,
            }
            finish_pass(&report, &args.pass, json, cli, env)
        }
        #[cfg(feature = "sandbox")]
        Command::Demo(args) => {
            let mut progress = progress_for(&cli.global, env);
            demo::run(args, progress.as_mut())?;
            Ok(Exit::Success)
        }
        #[cfg(feature = "sandbox")]
        Command::Sandbox(args) => {
            sandbox::run_command(&sandbox::SandboxOptions {
                root: args.root.clone(),
                port: args.port,
                token: args.token.clone(),
            })?;
            Ok(Exit::Success)
        }
        Command::History(args) => insight::command::history(args, &cli.global, env),
        Command::Where(args) => insight::command::where_(args, &cli.global, env),
        Command::Metrics(args) => insight::command::metrics(args, &cli.global, env),
        Command::Gate(cli::GateCommand::Set(args)) => gate_command::set(args, &cli.global, env),
        Command::Gate(cli::GateCommand::Get(args)) => gate_command::get(args, &cli.global, env),
    }
}

/// Whether stderr gets colour (`--color`, `NO_COLOR`, a terminal).
fn stderr_color(cli: &Cli, env: Env<'_>) -> bool {
    wants_color(cli.global.color, env, std::io::stderr().is_terminal())
}

/// Loads the config and runs one pass in `mode`; config problems exit 2.
fn run_pass(
    args: &PassArgs,
    mode: Mode,
    max_writes: Option<usize>,
    global: &GlobalArgs,
    env: Env<'_>,
    clock: std::sync::Arc<dyn scm::http::Clock>,
) -> Result<pass::PassReport, exit::CommandError> {
    let config = config::load_from(args.config.config.as_deref(), env)?;
    // A `--strategy` the file does not have is a usage error (exit 2), found before any network.
    // So are a bad `--shard` and bad GitLab `parallel:` variables (docs/configuration.md).
    let shard =
        shard::Shard::resolve(args.shard.as_deref(), env).map_err(exit::CommandError::usage)?;
    pass::select_strategies(&config, args.strategy.as_deref(), shard.as_ref())
        .map_err(exit::CommandError::usage)?;
    let options = PassOptions {
        mode,
        strategy: args.strategy.clone(),
        shard,
        cache_dir: args.cache_dir.clone(),
        max_wait: std::time::Duration::from_secs(args.max_wait),
        log_requests: global.verbose > 0 && !global.quiet,
        max_writes,
        jobs: args.jobs,
        clock,
    };
    let mut progress = progress_for(global, env);
    Ok(pass::run_pass(&config, env, &options, progress.as_mut())?)
}

/// Live lines on a terminal, plain lines (with CI log sections) elsewhere: `ui::wants_bars`.
pub(crate) fn progress_for(global: &GlobalArgs, env: Env<'_>) -> Box<dyn pass::Progress> {
    let is_terminal = std::io::stderr().is_terminal();
    ui::progress_for(
        global.quiet,
        global.verbose,
        wants_color(global.color, env, is_terminal),
        env,
        is_terminal,
    )
}

/// After the report is on stdout: the GitHub Actions outputs and annotations, the `error:` lines of
/// failed environments on stderr, and the exit code.
fn finish_pass(
    report: &pass::PassReport,
    args: &PassArgs,
    json_on_stdout: bool,
    cli: &Cli,
    env: Env<'_>,
) -> CommandResult {
    let mut published = github_actions::publish(report, env, args.report_file.as_deref())?;
    // A dashboard that could not be written is a warning, with the pass's other annotations.
    if ci_env::is_github_actions(env)
        && let Some(annotation) = report.dashboard.as_ref().and_then(|d| d.annotation())
    {
        published.annotations.push_str(&annotation);
    }
    print_annotations(&published, json_on_stdout)?;
    eprint!(
        "{}",
        exit::environment_errors(report, stderr_color(cli, env))
    );
    Ok(pass_exit(report))
}

/// docs/design.md §6: annotations go with the human report on stdout, and to stderr when stdout carries one
/// JSON document.
fn print_annotations(
    published: &github_actions::Published,
    json_on_stdout: bool,
) -> anyhow::Result<()> {
    if json_on_stdout {
        eprint!("{}", published.annotations);
        Ok(())
    } else {
        print(&published.annotations)
    }
}

/// Prints the command's result on stdout ([`stdout::print`]: a closed pipe is not an error).
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    use anyhow::Context as _;
    stdout::print(text).context("writing the result to stdout")
}

/// docs/design.md §6: 1 when an environment could not be reconciled; waiting and blocked are states.
fn pass_exit(report: &pass::PassReport) -> Exit {
    if report.failed() {
        Exit::Failure
    } else {
        Exit::Success
    }
}

/// `promoter validate`: load and check the config offline, print what it resolves to.
fn validate(args: &ConfigArg, global: &GlobalArgs, env: Env<'_>) -> CommandResult {
    let (path, _) = config::locate(args.config.as_deref(), env);
    if global.verbose > 0 {
        eprintln!("reading {}", path.display());
    }
    let config = config::load_from(args.config.as_deref(), env)?;
    if !global.quiet {
        for (warning, hint) in config::describe::credential_warnings(&config, env) {
            eprintln!(
                "{}",
                untrusted::for_log(&format!("warning: {warning}\nhint: {hint}"))
            );
        }
    }
    print(&untrusted::for_log(&config::describe::describe(&config)))?;
    Ok(Exit::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_follows_the_flag_the_terminal_and_no_color() {
        let none = |_: &str| None;
        let no_color = |name: &str| (name == "NO_COLOR").then(|| "1".to_owned());
        let dumb = |name: &str| (name == "TERM").then(|| "dumb".to_owned());
        assert!(wants_color(ColorChoice::Auto, &none, true));
        assert!(!wants_color(ColorChoice::Auto, &none, false));
        assert!(!wants_color(ColorChoice::Auto, &no_color, true));
        assert!(!wants_color(ColorChoice::Auto, &dumb, true));
        assert!(wants_color(ColorChoice::Always, &no_color, false));
        assert!(!wants_color(ColorChoice::Never, &none, true));
    }
}
