//! promoter: one idempotent GitOps promotion pass per run. See README.md and SPEC.md.
//!
//! `main.rs` calls [`main_with`]; everything else is reached from here.

// serde_json::json! of GitHub's large repository objects needs more macro depth.
#![recursion_limit = "256"]

pub mod ci_env;
pub mod cli;
pub mod config;
pub mod gates;
pub mod git;
pub mod model;
pub mod reconcile;
pub mod sandbox;
pub mod scm;

use std::ffi::OsString;
use std::process::ExitCode;

/// Runs the command line `args` with `env` as the only view of the process environment.
pub fn main_with(
    args: impl IntoIterator<Item = OsString>,
    env: &dyn Fn(&str) -> Option<String>,
) -> ExitCode {
    let _ = env;
    let cli = match <cli::Cli as clap::Parser>::try_parse_from(args) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return if error.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    let result = match &cli.command {
        cli::Command::Sandbox(args) => sandbox::run_command(args),
        cli::Command::Validate(_) | cli::Command::Schema => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            for cause in error.chain().skip(1) {
                eprintln!("caused by: {cause}");
            }
            ExitCode::from(1)
        }
    }
}
