//! A closed stdout (`promoter schema | head -1`) ends every printing command quietly: no panic
//! message, exit 0 for a command that did its job, as ripgrep does (issue 11, item 13).
//!
//! The pipe is real: the binary's stdout is the write end of an OS pipe whose read end is closed
//! before the binary writes, so its first write fails with EPIPE (Rust ignores SIGPIPE).

use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

use crate::reconcile::{Forge, World};
use crate::support::{promoter_process, root};

/// Runs `command` with stdout a pipe. `keep` lines are read before the read end is closed (0:
/// closed before the binary starts). Returns `(exit code, stderr)`.
fn run_with_closed_stdout(mut command: std::process::Command, keep: usize) -> (i32, String) {
    let (reader, writer) = std::io::pipe().unwrap();
    command.stdout(writer).stderr(Stdio::piped());
    let mut reader = Some(reader);
    if keep == 0 {
        drop(reader.take());
    }
    let child = command.spawn().unwrap();
    // The parent's copy of the write end must go, or the pipe never ends.
    drop(command);
    if let Some(reader) = reader.take() {
        let mut lines = BufReader::new(reader);
        for _ in 0..keep {
            let mut line = String::new();
            lines.read_line(&mut line).unwrap();
        }
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_quiet((code, stderr): (i32, String)) {
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn schema_into_a_closed_pipe_ends_quietly_with_exit_0() {
    let mut command = promoter_process();
    command.arg("schema");
    assert_quiet(run_with_closed_stdout(command, 0));
}

#[test]
fn validate_into_a_closed_pipe_ends_quietly_with_exit_0() {
    let mut command = promoter_process();
    command
        .arg("validate")
        .arg("-c")
        .arg(root().join("examples/promotion.yaml"));
    assert_quiet(run_with_closed_stdout(command, 0));
}

fn pass_into_a_closed_pipe(args: &[&str]) {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &|_| String::new());
    let command = world.process(args, crate::reconcile::TOKEN);
    assert_quiet(run_with_closed_stdout(command, 0));
}

#[test]
fn reconcile_into_a_closed_pipe_ends_quietly_with_exit_0() {
    pass_into_a_closed_pipe(&["reconcile"]);
}

#[test]
fn reconcile_json_into_a_closed_pipe_ends_quietly_with_exit_0() {
    pass_into_a_closed_pipe(&["reconcile", "--output", "json"]);
}

#[test]
fn status_into_a_closed_pipe_ends_quietly_with_exit_0() {
    pass_into_a_closed_pipe(&["status"]);
}

#[test]
fn demo_whose_reader_goes_away_after_one_line_ends_quietly_with_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut command = promoter_process();
    command
        .arg("demo")
        .env("HOME", dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        // The sandbox serves git over HTTP through `git http-backend`.
        .env("PATH", std::env::var("PATH").unwrap());
    assert_quiet(run_with_closed_stdout(command, 1));
}
