//! Time under the tests' control: a clock that a pass reads and "sleeps" on without waiting, and
//! passes run in this process with it (`promoter::main_with_clock`, docs/design.md §11
//! "Time in tests"). The binary itself always runs on the system clock.

use std::ffi::OsString;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use promoter::Clock;

/// Starts at a given instant; `sleep` moves it forward at once and records the wait.
#[derive(Debug)]
pub(crate) struct TestClock {
    at: Mutex<SystemTime>,
    slept: Mutex<Vec<Duration>>,
}

impl TestClock {
    /// A clock reading `at` until something sleeps on it.
    pub(crate) fn at(at: SystemTime) -> Arc<Self> {
        Arc::new(Self {
            at: Mutex::new(at),
            slept: Mutex::new(Vec::new()),
        })
    }

    /// A clock reading the real time now.
    pub(crate) fn now() -> Arc<Self> {
        Self::at(SystemTime::now())
    }

    /// Every wait the pass asked for, in order.
    pub(crate) fn slept(&self) -> Vec<Duration> {
        self.slept.lock().unwrap().clone()
    }
}

impl Clock for TestClock {
    fn now(&self) -> SystemTime {
        *self.at.lock().unwrap()
    }

    fn sleep(&self, duration: Duration) {
        *self.at.lock().unwrap() += duration;
        self.slept.lock().unwrap().push(duration);
    }
}

/// What a pass run in this process left: its exit code and the JSON report (`--report-file`).
#[derive(Debug)]
pub(crate) struct InProcess {
    pub code: ExitCode,
    pub report: String,
}

impl InProcess {
    pub(crate) fn success(&self) -> bool {
        self.code == ExitCode::SUCCESS
    }
}

/// Runs `promoter <args> --report-file <report>` in this process on `clock`, with `env` as the
/// whole environment, from the crate root (as the binary runs in the other tests).
pub(crate) fn run_in_process(
    args: &[OsString],
    env: &[(&str, &str)],
    report: &std::path::Path,
    clock: Arc<TestClock>,
) -> InProcess {
    let _ = std::fs::remove_file(report);
    let mut argv = vec![OsString::from("promoter")];
    argv.extend(args.iter().cloned());
    argv.push("--report-file".into());
    argv.push(report.into());
    let env = super::env_table(env);
    let code = promoter::main_with_clock(argv, &env, clock);
    InProcess {
        code,
        report: std::fs::read_to_string(report).unwrap_or_default(),
    }
}
