//! The reads of a pass ahead of its writes (docs/performance.md, "Concurrency across
//! strategies"): while the pass writes for one strategy, the SCM reads of the next ones run on up
//! to `jobs` threads. Strategies are independent (docs/design.md §3), so reading one does not wait
//! for another's writes — except where two strategies share a branch (monorepo mode: one live
//! branch, one staging branch per `activePath`), whose reads wait for the earlier one's writes
//! exactly as one strategy after another would.
//!
//! What stays on the pass's own thread: git (a `git2::Repository` is `Send` but not `Sync`, so
//! the cache is read there, before and after the SCM's reads: [`Observing`]), every write (one
//! [`crate::reconcile::pacing::WritePacer`], in strategy order), and everything the pass prints.
//! A thread's request log lines and warnings come back with its observation and are shown in
//! the strategy's place, so output and reports do not depend on `jobs`.
//!
//! GitHub docs "Best practices for using the REST API", "Avoid concurrent requests"
//! (<https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#avoid-concurrent-requests>):
//! "To avoid exceeding secondary rate limits, you should make requests serially instead of
//! concurrently"; docs "Rate limits for the REST API", "About secondary rate limits"
//! (<https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>):
//! "No more than 100 concurrent requests are allowed". So writes (what the secondary limits for
//! content-creating requests count) are never concurrent, reads are bounded by `jobs`
//! ([`MAX_JOBS`] at most), and `--jobs 1` sends every request one after another.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::thread::{Scope, ScopedJoinHandle};

use crate::config::Config;
use crate::git::GitCache;
use crate::reconcile::observe::{Observing, Reads};
use crate::reconcile::observe_gates::GateIo;
use crate::scm::Scm;
use crate::scm::http::validators::Validators;

/// `--jobs` when not given: strategies whose reads run at once. Measured (docs/performance.md,
/// "Concurrency across strategies"; 10 strategies × 10 environments, 100 ms per API answer): 4
/// took a waiting pass from 4.3–4.7 s to 2.2–2.7 s and an active one from 13 s to 9.1 s; 8 gained
/// a few tenths more for twice the concurrent requests.
pub(crate) const DEFAULT_JOBS: usize = 4;

/// The most `--jobs` allows: GitHub's limit of concurrent requests (module doc).
pub(crate) const MAX_JOBS: usize = 100;

/// One strategy's observation after the SCM's reads, with what the reading thread would have
/// printed.
#[derive(Debug)]
pub(crate) struct Read {
    pub observing: Observing,
    /// `--verbose` request log lines, in the order the requests were made.
    pub log: Vec<String>,
    /// Warnings met while reading (damaged conditional-request files).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
enum Started<'scope> {
    /// Read on the pass's own thread (`jobs` = 1: exactly one strategy after another).
    Done(Read),
    Running(ScopedJoinHandle<'scope, Read>),
}

/// What the reads of a pass need, besides the thread scope.
#[derive(Clone, Copy)]
pub(crate) struct ReadSetup<'env> {
    pub config: &'env Config,
    pub scm: &'env dyn Scm,
    pub io: GateIo<'env>,
    pub validators: Option<&'env Validators>,
    pub reads: Reads,
    /// At most this many strategies are read at once, the one the pass waits for included
    /// (clamped to 1..=[`MAX_JOBS`]).
    pub jobs: usize,
    /// The strategies of the pass (indices into `config.strategies`), in order.
    pub selected: &'env [usize],
    /// Per position in `selected`: the position whose writes its reads wait for ([`waits_for`]).
    pub waits_for: &'env [Option<usize>],
}

/// The strategies of a pass being read, in pass order.
pub(crate) struct Readers<'scope, 'env> {
    scope: &'scope Scope<'scope, 'env>,
    setup: ReadSetup<'env>,
    started: VecDeque<Started<'scope>>,
    /// The first position not started.
    next: usize,
}

impl std::fmt::Debug for Readers<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("jobs", &self.setup.jobs)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl<'scope, 'env> Readers<'scope, 'env> {
    pub(crate) fn new(scope: &'scope Scope<'scope, 'env>, setup: ReadSetup<'env>) -> Self {
        Self {
            scope,
            setup: ReadSetup {
                jobs: setup.jobs.clamp(1, MAX_JOBS),
                ..setup
            },
            started: VecDeque::new(),
            next: 0,
        }
    }

    /// The observation of the strategy at `position`, once its reads are done; starts the reads
    /// of the strategies after it that may run meanwhile (at least `position` itself: what it
    /// waits for is earlier, and `jobs` ≥ 1). Every earlier position was taken, and its writes
    /// made, before this is called.
    pub(crate) fn take(&mut self, position: usize, git: &GitCache) -> Read {
        debug_assert_eq!(self.next - self.started.len(), position);
        let setup = self.setup;
        while self.next < setup.selected.len()
            && self.next < position + setup.jobs
            && setup.waits_for[self.next].is_none_or(|earlier| earlier < position)
        {
            self.start(git);
        }
        match self.started.pop_front() {
            Some(Started::Done(read)) => read,
            Some(Started::Running(thread)) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            None => unreachable!("position {position} was started above"),
        }
    }

    /// Reads git for the next position here, then the SCM on a thread of its own (here when
    /// `jobs` is 1).
    fn start(&mut self, git: &GitCache) {
        let ReadSetup {
            config,
            scm,
            io,
            validators,
            reads,
            jobs,
            selected,
            ..
        } = self.setup;
        let mut observing = Observing::read_git(config, selected[self.next], git, reads);
        self.next += 1;
        if jobs == 1 {
            observing.read_remote(config, scm, io);
            self.started.push_back(Started::Done(Read {
                observing,
                log: Vec::new(),
                warnings: Vec::new(),
            }));
            return;
        }
        let thread = self.scope.spawn(move || {
            let log = capture_request_log(|| observing.read_remote(config, scm, io));
            Read {
                observing,
                log,
                // This thread's only (Validators keeps each thread's apart).
                warnings: validators
                    .map(Validators::take_warnings)
                    .unwrap_or_default(),
            }
        });
        self.started.push_back(Started::Running(thread));
    }
}

/// Per position in `selected`: the nearest earlier position whose strategy has a live or staging
/// branch in common with it. Its writes change what the later one reads (a merge moves the
/// shared live branch), so in a reconcile pass the later one's reads start after them.
pub(crate) fn waits_for(config: &Config, selected: &[usize]) -> Vec<Option<usize>> {
    let mut last: HashMap<&str, usize> = HashMap::new();
    selected
        .iter()
        .enumerate()
        .map(|(position, &index)| {
            let branches = config.strategies[index]
                .environments
                .iter()
                .flat_map(|e| [e.branch.as_str(), e.staging_branch.as_str()]);
            let mut earlier = None;
            for branch in branches {
                if let Some(previous) = last.insert(branch, position)
                    && previous != position
                {
                    earlier = earlier.max(Some(previous));
                }
            }
            earlier
        })
        .collect()
}

thread_local! {
    /// The request log lines of the reads running on this thread, when they are kept for the
    /// pass to print in strategy order ([`capture_request_log`]).
    static CAPTURED: RefCell<Option<Vec<String>>> = const { RefCell::new(None) };
}

/// Runs `read` with this thread's request log lines kept instead of printed; returns them.
fn capture_request_log(read: impl FnOnce()) -> Vec<String> {
    CAPTURED.with(|captured| *captured.borrow_mut() = Some(Vec::new()));
    read();
    CAPTURED
        .with(|captured| captured.borrow_mut().take())
        .unwrap_or_default()
}

/// Prints one `--verbose` request log line on stderr, or keeps it when this thread's reads run
/// ahead of the pass ([`capture_request_log`]).
pub(crate) fn log_request(line: String) {
    let unkept = CAPTURED.with(|captured| match captured.borrow_mut().as_mut() {
        Some(lines) => {
            lines.push(line);
            None
        }
        None => Some(line),
    });
    if let Some(line) = unkept {
        eprintln!("{line}");
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn a_strategy_waits_for_the_nearest_earlier_one_sharing_a_branch() {
        // web, api and docs share live branches (monorepo mode, a staging branch per
        // activePath); batch shares none; docs shares only prod, with web and api.
        let text = "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\nstrategies:\n\
            \x20 - name: web\n    activePath: web\n    environments:\n      - branch: environment/dev\n      - branch: environment/prod\n\
            \x20 - name: batch\n    environments:\n      - branch: environment/qa\n\
            \x20 - name: api\n    activePath: api\n    environments:\n      - branch: environment/dev\n      - branch: environment/prod\n\
            \x20 - name: docs\n    activePath: docs\n    environments:\n      - branch: environment/prod\n";
        let config = crate::config::parse(text, Path::new("promotion.yaml"), &|_| None).unwrap();
        assert_eq!(
            waits_for(&config, &[0, 1, 2, 3]),
            [None, None, Some(0), Some(2)]
        );
        // A pass over some strategies counts positions in it.
        assert_eq!(waits_for(&config, &[1, 2, 0]), [None, None, Some(1)]);
    }
}
