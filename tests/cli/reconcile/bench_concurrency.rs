//! Benchmark (ignored by default, never timed in the suite): does reading several strategies at
//! once (`--jobs`) help when every API answer takes 100 ms, as it may from a CI runner far from
//! the API? 10 strategies × 10 environments on the sandbox forge (GitHub dialect) with every API
//! request delayed by [`LATENCY`] (git is not delayed), and two passes for each `--jobs` of
//! [`JOBS`]:
//! - a waiting pass: every strategy's first environment promoted, the others waiting for a
//!   `health` gate nobody reports, nothing changed since the last pass (reads only, all of them
//!   answered 304);
//! - an active pass: every environment has something to promote, no gates; GitHub's default write
//!   budget (80) ends it, the rest is deferred.
//!
//! Prints the wall time of each pass and its API requests (reads, of them 304s, writes) and the
//! most reads the forge had in flight at once; and the waiting pass without added latency, for
//! what the pass costs besides waiting on the API.
//!
//! Run: `cargo test --test cli bench_concurrency -- --ignored --nocapture`
//! Results: docs/performance.md, "Concurrency across strategies".

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use sandbox::Fault;

use super::concurrency::{HEALTH, strategies_world};
use super::{TOKEN, World};
use crate::support::clock::TestClock;

const STRATEGIES: usize = 10;
const ENVIRONMENTS: usize = 10;
const LATENCY: Duration = Duration::from_millis(100);
const JOBS: [usize; 4] = [1, 2, 4, 8];
/// promoter's default `--jobs` (src/reconcile/ahead.rs).
const DEFAULT_JOBS: usize = 4;

/// API requests in flight at the forge: now and the most seen.
#[derive(Debug, Default)]
struct InFlight {
    now: AtomicUsize,
    most: AtomicUsize,
}

/// Every API request from now on waits [`LATENCY`] before it is answered; returns what counts
/// the reads in flight (a read enters when it arrives and leaves when its delay is over).
fn slow_api(world: &World) -> Arc<InFlight> {
    let reads = Arc::new(InFlight::default());
    for (method, path) in [("GET", "/api/*"), ("POST", "/api/graphql"), ("*", "/api/*")] {
        let counted = (method != "*").then(|| Arc::clone(&reads));
        world
            .sandbox
            .inject(Fault::new(method, path).times(usize::MAX).before(move || {
                if let Some(reads) = &counted {
                    let now = reads.now.fetch_add(1, Ordering::SeqCst) + 1;
                    reads.most.fetch_max(now, Ordering::SeqCst);
                }
                std::thread::sleep(LATENCY);
                if let Some(reads) = &counted {
                    reads.now.fetch_sub(1, Ordering::SeqCst);
                }
            }));
    }
    reads
}

/// `(all, reads, 304s, writes)` of the API requests the forge logged.
fn api_counts(world: &World) -> (usize, usize, usize, usize) {
    let api: Vec<_> = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .collect();
    let writes = api
        .iter()
        .filter(|r| r.method != "GET" && r.path != "/api/graphql")
        .count();
    let not_modified = api.iter().filter(|r| r.status == 304).count();
    (api.len(), api.len() - writes, not_modified, writes)
}

/// One pass of the binary with `--jobs jobs`: wall time.
fn pass(world: &World, args: &[&str], jobs: usize) -> Duration {
    let jobs = jobs.to_string();
    let mut all = args.to_vec();
    all.extend(["--jobs", &jobs]);
    let started = Instant::now();
    world.command(&all, TOKEN).assert().success();
    started.elapsed()
}

fn report(name: &str, jobs: usize, elapsed: Duration, world: &World, reads: &InFlight) {
    let (all, read, not_modified, writes) = api_counts(world);
    println!(
        "{name}, --jobs {jobs}: {:>6} ms; API requests {all}: reads {read} ({not_modified} answered 304), \
         writes {writes}; reads in flight at most {}",
        elapsed.as_millis(),
        reads.most.load(Ordering::SeqCst),
    );
}

#[test]
#[ignore = "a benchmark: cargo test --test cli bench_concurrency -- --ignored --nocapture"]
fn bench_jobs_at_100_ms_api_latency() {
    // The waiting world, settled on a test clock (GitHub's write pace takes no real time): every
    // strategy's first environment promoted, the other PRs open and waiting for `health`.
    let world = strategies_world(STRATEGIES, ENVIRONMENTS, HEALTH);
    let clock = TestClock::at(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    for _ in 0..3 {
        let settle = world.promoter_on(&["reconcile", "--max-writes", "1000"], &clock);
        assert!(settle.success(), "{}", settle.report);
    }
    // One more pass so that every read has its validators kept: the measured ones are alike.
    pass(&world, &["reconcile"], 1);
    for jobs in [1, DEFAULT_JOBS] {
        let elapsed = pass(&world, &["reconcile"], jobs);
        println!(
            "waiting pass, {STRATEGIES}×{ENVIRONMENTS}, no added latency, --jobs {jobs}: {:>6} ms",
            elapsed.as_millis()
        );
    }
    let reads = slow_api(&world);
    for jobs in JOBS {
        world.clear();
        reads.most.store(0, Ordering::SeqCst);
        let elapsed = pass(&world, &["reconcile"], jobs);
        report(
            &format!("waiting pass, {STRATEGIES}×{ENVIRONMENTS}"),
            jobs,
            elapsed,
            &world,
            &reads,
        );
        assert_eq!(api_counts(&world).3, 0, "a waiting pass writes nothing");
    }

    for jobs in JOBS {
        let world = strategies_world(STRATEGIES, ENVIRONMENTS, "");
        let reads = slow_api(&world);
        world.clear();
        let elapsed = pass(&world, &["reconcile"], jobs);
        report(
            &format!("active pass, {STRATEGIES}×{ENVIRONMENTS}"),
            jobs,
            elapsed,
            &world,
            &reads,
        );
    }
}
