//! `--jobs N` (issue 14 item 5, docs/performance.md "Concurrency across strategies"): the SCM
//! reads of several strategies run at once, at most N, while writes stay one at a time in
//! strategy order; the report and the log are the same whatever N is. Concurrency is seen by the
//! forge itself: a hook in front of every API request counts the requests inside it at once, and
//! holds the first read until a second one arrives (which only reads running at once can do). No
//! assertion is about time.

use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Duration;

use sandbox::Fault;

use super::{Forge, NAME, OWNER, TOKEN, World, output};

/// `strategies` strategies `s0`, `s1`, … of `per` environments each (`environment/s0e0`, …), no
/// branch shared, one DRY change hydrated everywhere; `extra` goes into every strategy.
pub(super) fn strategies_world(strategies: usize, per: usize, extra: &str) -> World {
    let names: Vec<String> = (0..strategies)
        .flat_map(|s| (0..per).map(move |e| format!("s{s}e{e}")))
        .collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut world = World::new(Forge::Github, &names);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    let mut text = format!(
        "scm:\n  provider: github\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n  cloneUrl: {}\nstrategies:\n",
        world.sandbox.api_url(),
        world.sandbox.clone_url(OWNER, NAME)
    );
    for s in 0..strategies {
        text.push_str(&format!("  - name: s{s}\n{extra}    environments:\n"));
        for e in 0..per {
            text.push_str(&format!("      - branch: environment/s{s}e{e}\n"));
        }
    }
    std::fs::write(world.dir.path().join("promotion.yaml"), text).unwrap();
    world
}

/// A gate on every environment's live tip that nobody reports: each environment after the first
/// waits, so every pass reads the PRs and gates of every strategy and writes little.
pub(super) const HEALTH: &str = "    activeCommitStatuses:\n      - key: health\n";

#[derive(Debug, Default)]
struct Inside {
    now: usize,
    most: usize,
    entered: usize,
    /// A second request arrived while the first was held.
    met: bool,
}

/// Counts the requests inside the forge's hook at once. With `rendezvous`, the first request is
/// held until a second arrives (or 30 s pass, when nothing runs at once); every other one stays
/// a few milliseconds, so that requests sent at once are seen at once.
#[derive(Debug, Clone)]
struct Overlap {
    state: Arc<(Mutex<Inside>, Condvar)>,
    rendezvous: bool,
}

impl Overlap {
    fn new(rendezvous: bool) -> Self {
        Self {
            state: Arc::new((Mutex::new(Inside::default()), Condvar::new())),
            rendezvous,
        }
    }

    fn enter(&self) {
        let (lock, arrived) = &*self.state;
        let mut inside = lock.lock().unwrap_or_else(PoisonError::into_inner);
        inside.now += 1;
        inside.entered += 1;
        inside.most = inside.most.max(inside.now);
        arrived.notify_all();
        if self.rendezvous && inside.entered == 1 {
            let (held, _) = arrived
                .wait_timeout_while(inside, Duration::from_secs(30), |inside| inside.now < 2)
                .unwrap_or_else(PoisonError::into_inner);
            inside = held;
            inside.met = inside.now >= 2;
        } else {
            drop(inside);
            std::thread::sleep(Duration::from_millis(20));
            inside = lock.lock().unwrap_or_else(PoisonError::into_inner);
        }
        inside.now -= 1;
    }

    fn seen(&self) -> (usize, usize, bool) {
        let inside = self.state.0.lock().unwrap_or_else(PoisonError::into_inner);
        (inside.entered, inside.most, inside.met)
    }

    /// Runs in front of the next `times` requests of `method` on `path` at `world`'s forge.
    fn watch(&self, world: &World, method: &str, path: &str) {
        let overlap = self.clone();
        world.sandbox.inject(
            Fault::new(method, path)
                .times(10_000)
                .before(move || overlap.enter()),
        );
    }

    /// Every API read: REST GETs and GraphQL queries.
    fn watch_reads(&self, world: &World) {
        self.watch(world, "GET", "/api/v3/*");
        self.watch(world, "POST", "/api/graphql");
    }

    /// Every API write.
    fn watch_writes(&self, world: &World) {
        for method in ["POST", "PATCH", "PUT"] {
            self.watch(world, method, "/api/v3/*");
        }
    }
}

fn promoter(world: &World, args: &[&str]) -> (String, String) {
    let assert = world.promoter(args);
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(0),
        "{stdout}{stderr}"
    );
    (stdout, stderr)
}

#[test]
fn the_reads_of_several_strategies_run_at_once_up_to_jobs() {
    let world = strategies_world(4, 2, HEALTH);
    let overlap = Overlap::new(true);
    overlap.watch_reads(&world);
    promoter(&world, &["status", "--jobs", "2"]);
    let (reads, most, met) = overlap.seen();
    assert!(met, "no second read arrived while the first was held");
    assert_eq!(most, 2, "{reads} reads");
    assert!(reads >= 4, "every strategy reads: {reads}");
}

#[test]
fn jobs_1_reads_one_request_at_a_time() {
    let world = strategies_world(4, 2, HEALTH);
    let overlap = Overlap::new(false);
    overlap.watch_reads(&world);
    promoter(&world, &["status", "--jobs", "1"]);
    let (reads, most, _) = overlap.seen();
    assert!(reads >= 4, "every strategy reads: {reads}");
    assert_eq!(most, 1);
}

/// The report without what differs between two forges: their address, and commits each forge
/// made at its own time (merges), so every SHA (any run of 7 or more hex digits).
fn comparable(text: &str, world: &World) -> String {
    let text = text.replace(&world.sandbox.api_url(), "<api>");
    let base = world.sandbox.clone_url(OWNER, NAME);
    let origin = base.split('/').take(3).collect::<Vec<_>>().join("/");
    let text = text.replace(&origin, "<forge>");
    let mut out = String::with_capacity(text.len());
    let mut hex = String::new();
    for c in text.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() || ('a'..='f').contains(&c) {
            hex.push(c);
            continue;
        }
        if hex.len() >= 7 {
            out.push_str("<sha>");
        } else {
            out.push_str(&hex);
        }
        hex.clear();
        out.push(c);
    }
    out.pop();
    out
}

#[test]
fn status_and_dry_run_print_the_same_whatever_jobs() {
    let world = strategies_world(5, 2, HEALTH);
    // One environment promoted per strategy, so the others wait with PRs open.
    promoter(&world, &["reconcile", "--jobs", "1"]);
    for command in [
        &["status", "--output", "json"][..],
        &["status"],
        &["status", "--output", "markdown"],
        &["reconcile", "--dry-run", "--output", "json"],
        &["reconcile", "--dry-run"],
    ] {
        let run = |jobs: &str| {
            let mut args = command.to_vec();
            args.extend(["--jobs", jobs]);
            promoter(&world, &args)
        };
        let one = run("1");
        for jobs in ["2", "4", "8"] {
            assert_eq!(run(jobs), one, "{command:?} --jobs {jobs}");
        }
    }
}

#[test]
fn writes_are_one_at_a_time_in_strategy_order_and_the_report_is_the_one_of_jobs_1() {
    let serial = strategies_world(4, 3, "");
    let (serial_json, _) = promoter(&serial, &["reconcile", "--jobs", "1", "--output", "json"]);

    let world = strategies_world(4, 3, "");
    let reads = Overlap::new(true);
    reads.watch_reads(&world);
    let writes = Overlap::new(false);
    writes.watch_writes(&world);
    let (json, _) = promoter(&world, &["reconcile", "--jobs", "4", "--output", "json"]);

    let (writes_made, most, _) = writes.seen();
    assert_eq!(most, 1, "two of {writes_made} writes in flight at once");
    // Each strategy: its first environment promotes (create, merge); the other two get a PR
    // and the previous-environment status.
    assert!(writes_made >= 4 * 4, "{writes_made} writes");
    assert!(reads.seen().2, "the reads ran one at a time");
    assert_eq!(comparable(&json, &world), comparable(&serial_json, &serial));

    // The forge saw each strategy's writes after the previous strategy's, s0 to s3.
    let order: Vec<usize> = world
        .sandbox
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/v3/"))
        .filter_map(|r| {
            let pr: serde_json::Value = serde_json::from_str(&r.body).ok()?;
            let base = pr["base"].as_str()?;
            base.strip_prefix("environment/s")?[..1].parse().ok()
        })
        .collect();
    assert!(!order.is_empty());
    assert!(order.is_sorted(), "PR creates by strategy: {order:?}");
}

#[test]
fn the_verbose_log_shows_each_strategys_requests_in_its_section() {
    let world = strategies_world(4, 2, HEALTH);
    promoter(&world, &["reconcile", "--jobs", "1"]);
    let staging_tips: Vec<Vec<String>> = (0..4)
        .map(|s| {
            (0..2)
                .map(|e| world.staging_tip(s * 2 + e).as_str().to_owned())
                .collect()
        })
        .collect();
    let out = world
        .command(&["status", "-v", "--jobs", "4"], TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success();
    let (_, stderr) = output(&out);
    let mut section: Option<usize> = None;
    let mut seen = 0;
    for line in stderr.lines() {
        if let Some(name) = line.strip_prefix("::group::strategy s") {
            section = name.parse().ok();
            continue;
        }
        if line.starts_with("::endgroup::") {
            section = None;
            continue;
        }
        if !line.starts_with("  GET ") {
            continue;
        }
        for (s, tips) in staging_tips.iter().enumerate() {
            if tips.iter().any(|tip| line.contains(tip.as_str())) {
                seen += 1;
                assert_eq!(section, Some(s), "{line} outside its strategy:\n{stderr}");
            }
        }
    }
    assert!(seen >= 4, "{stderr}");
}

#[test]
fn jobs_is_a_whole_number_from_1_to_100() {
    let world = strategies_world(1, 1, "");
    for bad in ["0", "101", "-1", "many"] {
        let flag = format!("--jobs={bad}");
        let out = world.promoter(&["status", &flag]).code(2);
        let (_, stderr) = output(&out);
        assert!(stderr.contains("not a number of jobs"), "{stderr}");
    }
    assert!(world.sandbox.requests().is_empty());
}

/// Monorepo mode: `web` and `api` share the live branches `environment/dev` and
/// `environment/prod` (a staging branch each, under their `activePath`), one DRY change hydrated
/// for both. Returns the world and `api`'s staging tips.
fn monorepo_world() -> (World, Vec<String>) {
    let mut world = World::new(Forge::Github, &["dev", "prod"]);
    let dry = world.dry_change("bump replicas");
    let mut api_tips = Vec::new();
    for app in ["web", "api"] {
        for env in ["dev", "prod"] {
            let tip = world
                .sandbox
                .hydrate(
                    OWNER,
                    NAME,
                    &sandbox::Hydration::new(&format!("environment/{env}"), &dry)
                        .active_path(&format!("apps/{app}"))
                        .file("manifest.yaml", &format!("app: {app}\nenv: {env}\n"))
                        .subject("hydrate"),
                )
                .unwrap();
            if app == "api" {
                api_tips.push(tip.as_str().to_owned());
            }
        }
    }
    let mut text = format!(
        "scm:\n  provider: github\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n  cloneUrl: {}\nstrategies:\n",
        world.sandbox.api_url(),
        world.sandbox.clone_url(OWNER, NAME)
    );
    for app in ["web", "api"] {
        text.push_str(&format!(
            "  - name: {app}\n    activePath: apps/{app}\n    environments:\n      - branch: environment/dev\n      - branch: environment/prod\n"
        ));
    }
    std::fs::write(world.dir.path().join("promotion.yaml"), text).unwrap();
    (world, api_tips)
}

#[test]
fn strategies_sharing_a_live_branch_read_after_the_earlier_ones_writes() {
    let (serial, _) = monorepo_world();
    let (serial_json, _) = promoter(&serial, &["reconcile", "--jobs", "1", "--output", "json"]);

    let (world, api_tips) = monorepo_world();
    let (json, _) = promoter(&world, &["reconcile", "--jobs", "4", "--output", "json"]);
    assert_eq!(comparable(&json, &world), comparable(&serial_json, &serial));
    let requests = world.sandbox.requests();
    // web opens #1 (dev) and #2 (prod) and merges them; its last write is #2's merge.
    let opened: Vec<_> = requests
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/pulls"))
        .map(|r| {
            r.body.contains("environment/dev-next/apps/web")
                || r.body.contains("environment/prod-next/apps/web")
        })
        .collect();
    assert_eq!(opened, [true, true, false, false]);
    let last_web_write = requests
        .iter()
        .position(|r| r.method == "PUT" && r.path.ends_with("/pulls/2/merge"))
        .expect("web's merge into prod");
    let first_api_read = requests
        .iter()
        .position(|r| r.method == "GET" && api_tips.iter().any(|tip| r.path.contains(tip)))
        .expect("api's gate reads");
    assert!(
        last_web_write < first_api_read,
        "api read its gates before web's writes were done"
    );
    // Both promoted everywhere, one after the other.
    for env in 0..2 {
        let tip = world.live_tip(env);
        for app in ["web", "api"] {
            let manifest = world
                .sandbox
                .read_file(OWNER, NAME, &tip, &format!("apps/{app}/manifest.yaml"))
                .unwrap();
            assert!(manifest.is_some(), "apps/{app} live in {}", world.envs[env]);
        }
    }
}
