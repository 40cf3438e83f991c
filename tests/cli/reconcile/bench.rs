//! Benchmark (ignored by default, never timed in the suite): worlds of 3, 100 and 1,000
//! environments on the sandbox forge where every environment is already promoted, and the steady
//! pass promoter runs on them (nothing moved since the last pass) next to `git ls-remote` of the
//! same repository, which is what a steady pass cannot do less than. Prints per world the median
//! wall time of each, their ratio, the requests of one steady pass by kind, the files and
//! directories it changed in the git cache (a lock file taken and dropped changes its directory),
//! and promoter's peak RSS (from `/usr/bin/time`, when installed).
//!
//! Run: `cargo test --release --test cli bench -- --ignored --nocapture`
//! (`PROMOTER_BENCH_BIN=/path/to/promoter` measures another build of promoter on the same worlds.)
//! Results: docs/performance.md.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;

use super::{Forge, NAME, OWNER, TOKEN, World};

const SIZES: [usize; 3] = [3, 100, 1_000];

/// The world sizes to measure: `PROMOTER_BENCH_SIZES=1000` (comma-separated) or all of [`SIZES`].
fn sizes() -> Vec<usize> {
    std::env::var("PROMOTER_BENCH_SIZES").map_or_else(
        |_| SIZES.to_vec(),
        |sizes| {
            sizes
                .split(',')
                .map(|size| {
                    size.trim()
                        .parse()
                        .expect("PROMOTER_BENCH_SIZES: numbers, comma-separated")
                })
                .collect()
        },
    )
}
const RUNS: usize = 5;
const TIME: &str = "/usr/bin/time";

/// A world of `size` environments, each staging branch with its own hydrated commit (as a
/// hydrator writes them: one per environment, the same `hydrator.metadata` in each) and each
/// live branch at its staging branch's commit.
fn settled_world(size: usize) -> World {
    let names: Vec<String> = (0..size).map(|i| format!("e{i:04}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut world = World::new(Forge::Github, &names);
    let dry = world.dry_change("change");
    let updates: String = (0..size)
        .map(|env| {
            let hydrated = world.hydrate(env, &dry);
            format!("update refs/heads/{} {hydrated}\n", world.envs[env])
        })
        .collect();
    git(
        &world.sandbox.repo_path(OWNER, NAME),
        &["update-ref", "--stdin"],
        &updates,
    );
    world.config("", &|_| String::new());
    world
}

fn git(dir: &Path, args: &[&str], stdin: &str) {
    use std::io::Write as _;
    let mut child = git_command(dir)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "git {args:?}");
}

fn git_command(dir: &Path) -> Command {
    let mut command = Command::new("git");
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .current_dir(dir);
    command
}

/// `git ls-remote` of the world's repository, sending the token up front as promoter does.
fn ls_remote(world: &World) -> Duration {
    let header = format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"))
    );
    let started = Instant::now();
    let out = git_command(world.dir.path())
        .arg("-c")
        .arg(format!("http.extraHeader={header}"))
        .args(["ls-remote", &world.sandbox.clone_url(OWNER, NAME)])
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// One `promoter reconcile` pass: wall time and peak RSS in KiB (when `/usr/bin/time` exists).
fn pass(world: &World) -> (Duration, Option<u64>) {
    pass_with(world, &[])
}

/// [`pass`] with more arguments.
fn pass_with(world: &World, extra: &[&str]) -> (Duration, Option<u64>) {
    let mut args = vec!["reconcile", "--output", "json"];
    args.extend_from_slice(extra);
    let inner = world.process(&args, TOKEN);
    let program = std::env::var_os("PROMOTER_BENCH_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(inner.get_program()));
    let rss_file = world.dir.path().join("rss");
    let timed = Path::new(TIME).exists();
    let mut command = if timed {
        // GNU time: `-f %M` is the maximum resident set size in KiB, `-o` keeps it off stderr.
        let mut command = Command::new(TIME);
        command
            .arg("-f")
            .arg("%M")
            .arg("-o")
            .arg(&rss_file)
            .arg(&program);
        command
    } else {
        Command::new(&program)
    };
    command.args(inner.get_args()).env_clear();
    for (name, value) in inner.get_envs() {
        if let Some(value) = value {
            command.env(name, value);
        }
    }
    if let Some(dir) = inner.get_current_dir() {
        command.current_dir(dir);
    }
    let started = Instant::now();
    let out = command.output().unwrap();
    let elapsed = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rss = timed
        .then(|| std::fs::read_to_string(&rss_file).ok())
        .flatten()
        .and_then(|text| text.trim().lines().last()?.parse().ok());
    (elapsed, rss)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// What a request was for: git's ref listing, fetch or push, or the API by method.
fn kind(method: &str, path: &str) -> String {
    if path.ends_with("/info/refs") {
        "git ref listing".into()
    } else if path.ends_with("/git-upload-pack") {
        "git fetch".into()
    } else if path.ends_with("/git-receive-pack") {
        "git push".into()
    } else {
        format!("API {method}")
    }
}

/// Every file and directory under `dir` with what changes when it is written or replaced, added
/// to `stamps`. A directory's time changes when an entry is created or removed in it: a lock file
/// taken and dropped leaves no file behind but shows there.
fn stamp_all(dir: &Path, stamps: &mut BTreeMap<PathBuf, (u64, std::time::SystemTime)>) {
    use std::os::unix::fs::MetadataExt as _;
    for entry in std::fs::read_dir(dir).unwrap().map(Result::unwrap) {
        let (path, meta) = (entry.path(), entry.metadata().unwrap());
        stamps.insert(path.clone(), (meta.ino(), meta.modified().unwrap()));
        if meta.is_dir() {
            stamp_all(&path, stamps);
        }
    }
}

fn stamps(dir: &Path) -> BTreeMap<PathBuf, (u64, std::time::SystemTime)> {
    let mut stamps = BTreeMap::new();
    stamp_all(dir, &mut stamps);
    stamps
}

#[test]
#[ignore = "a benchmark: cargo test --release --test cli bench -- --ignored --nocapture"]
fn bench_steady_pass_against_git_ls_remote() {
    for size in sizes() {
        let world = settled_world(size);
        let (cold, _) = pass(&world);

        let cache = world.dir.path().join("cache");
        let before = stamps(&cache);
        let seen = world.sandbox.requests().len();
        let (first, first_rss) = pass(&world);
        let after = stamps(&cache);
        let written = after
            .iter()
            .filter(|(path, stamp)| before.get(*path) != Some(stamp))
            .count()
            + before
                .keys()
                .filter(|path| !after.contains_key(*path))
                .count();
        let mut requests: BTreeMap<String, usize> = BTreeMap::new();
        for request in &world.sandbox.requests()[seen..] {
            *requests
                .entry(kind(&request.method, &request.path))
                .or_default() += 1;
        }

        let mut passes = vec![first];
        let mut rss = first_rss;
        for _ in 1..RUNS {
            let (elapsed, peak) = pass(&world);
            passes.push(elapsed);
            rss = rss.max(peak);
        }
        let steady = median(passes);
        let listing = median((0..RUNS).map(|_| ls_remote(&world)).collect());
        println!(
            "{size:>5} environments: steady pass {:>4} ms, git ls-remote {:>4} ms, ratio {:.2}; \
             cold pass {} ms; one steady pass: requests {requests:?}, files and directories changed in the cache \
             {written}, peak RSS {}",
            steady.as_millis(),
            listing.as_millis(),
            steady.as_secs_f64() / listing.as_secs_f64(),
            cold.as_millis(),
            rss.map_or("n/a".to_owned(), |kib| format!("{} MiB", kib / 1024)),
        );
    }
}

/// A world of `size` environments whose staging branches are each one hydrated commit (its own,
/// as a hydrator writes them) ahead of their live branches: every environment has something to
/// promote.
fn active_world(size: usize, strategy_extra: &str) -> (World, String) {
    let names: Vec<String> = (0..size).map(|i| format!("e{i:04}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut world = World::new(Forge::Github, &names);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    world.config(strategy_extra, &|_| String::new());
    (world, dry.as_str().to_owned())
}

/// API requests since `seen`: `(all, answered 304, GraphQL queries, reads that count, writes)`.
/// A 304 does not count against GitHub's rate limit.
fn api_counts(world: &World, seen: usize) -> (usize, usize, usize, usize, usize) {
    let api: Vec<_> = world.sandbox.requests()[seen..]
        .iter()
        .filter(|r| r.path.starts_with("/api/"))
        .cloned()
        .collect();
    let not_modified = api.iter().filter(|r| r.status == 304).count();
    let graphql = api.iter().filter(|r| r.path == "/api/graphql").count();
    let writes = api
        .iter()
        .filter(|r| r.method != "GET" && r.path != "/api/graphql")
        .count();
    let counted_reads = api.len() - writes - not_modified;
    (api.len(), not_modified, graphql, counted_reads, writes)
}

#[test]
#[ignore = "a benchmark: cargo test --release --test cli bench -- --ignored --nocapture"]
fn bench_active_pass_of_100_environments() {
    let (world, dry) = active_world(100, "");
    world.clear();
    let (elapsed, _) = pass(&world);
    let (all, not_modified, graphql, reads, writes) = api_counts(&world, 0);
    assert_eq!(world.live_dry(99).as_deref(), Some(dry.as_str()));
    eprintln!(
        "active pass, 1×100 environments, no gates: {} ms; API requests {all}: reads {reads} \
         (GraphQL queries {graphql}, 304s {not_modified}), writes {writes}",
        elapsed.as_millis()
    );
}

/// Issue 14's last row: an active pass over 1,000 environments, within GitHub's write limits
/// (the pass writes up to its budget and defers the rest, docs/design.md §3), then the passes
/// after it until every environment is promoted. Prints the reads of each pass.
#[test]
#[ignore = "a benchmark: cargo test --release --test cli bench -- --ignored --nocapture"]
fn bench_active_passes_of_1000_environments() {
    let size = 1_000;
    let (world, dry) = active_world(size, "");
    world.clear();
    let mut passes = 0;
    let started = Instant::now();
    while world.live_dry(size - 1).as_deref() != Some(dry.as_str()) {
        passes += 1;
        assert!(
            passes <= 100,
            "1,000 environments not promoted in 100 passes"
        );
        let seen = world.sandbox.requests().len();
        // `--max-writes` lifts the per-pass budget; the minute and hour limits stay (pacing.rs),
        // so the benchmark does not wait an hour: it counts what each pass asks.
        let (elapsed, rss) = pass_with(&world, &["--max-writes", "100000"]);
        let (all, not_modified, graphql, reads, writes) = api_counts(&world, seen);
        eprintln!(
            "active pass {passes} over 1,000 environments: {} ms, peak RSS {}; API requests \
             {all}: reads that count {reads} (GraphQL queries {graphql}), 304s {not_modified}, \
             writes {writes}",
            elapsed.as_millis(),
            rss.map_or("n/a".to_owned(), |kib| format!("{} MiB", kib / 1024)),
        );
        if passes == 3 {
            break;
        }
    }
    eprintln!("{passes} passes in {} ms", started.elapsed().as_millis());
}

#[test]
#[ignore = "a benchmark: cargo test --release --test cli bench -- --ignored --nocapture"]
fn bench_gated_chain_of_100_environments() {
    let size = 100;
    let (world, dry) = active_world(size, "    activeCommitStatuses:\n      - key: health\n");
    world.clear();
    // The first environment promotes (and opens every other environment's PR); the next pass
    // sees those PRs for the first time; the one after is over an unchanged world (everyone
    // waits for health on the first): what waiting costs.
    pass(&world);
    pass(&world);
    let seen = world.sandbox.requests().len();
    pass(&world);
    let (all, not_modified, graphql, reads, writes) = api_counts(&world, seen);
    eprintln!(
        "gated chain 1×{size}, a waiting pass (nothing changed): API requests {all}: reads that \
         count {reads} (GraphQL queries {graphql}), 304s {not_modified}, writes {writes}"
    );
    let (mut passes, mut next) = (3, 0);
    let started = Instant::now();
    while next < size && world.live_dry(next).as_deref() == Some(dry.as_str()) {
        world.report(&world.live_tip(next), "health", "success");
        next += 1;
    }
    while next < size {
        passes += 1;
        assert!(
            passes <= size + 5,
            "the chain stalled at environment {next}"
        );
        pass(&world);
        // Health success on every environment this pass promoted.
        while next < size && world.live_dry(next).as_deref() == Some(dry.as_str()) {
            world.report(&world.live_tip(next), "health", "success");
            next += 1;
        }
    }
    let (all, not_modified, graphql, reads, writes) = api_counts(&world, 0);
    let health_posts = size; // `World::report` writes through the store, not the API.
    eprintln!(
        "gated chain 1×{size}: {passes} passes in {} ms; API requests {all}: reads that count \
         {reads} (GraphQL queries {graphql}), 304s {not_modified}, writes {writes} \
         ({health_posts} health statuses posted by the test outside the API)",
        started.elapsed().as_millis()
    );
}
