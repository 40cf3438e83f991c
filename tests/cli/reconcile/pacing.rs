//! The write budget of a pass (docs/design.md §3 "Write budget", issue 14 item 4): with
//! `--max-writes N` a pass makes N writes, reports the environments it left as deferred (exit 0,
//! not an error) and the next pass goes on from what it reads. Writes are counted in the forge's
//! request log.

use super::{Api, Forge, World, output};

fn no_extra(_: usize) -> String {
    String::new()
}

/// Five environments, no gates, one DRY change hydrated everywhere.
fn five_environments(forge: Forge) -> World {
    let mut world = World::new(forge, &["dev", "qa", "staging", "canary", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world
}

/// Only the writes of a pass, by kind.
fn writes(world: &World) -> Api {
    let api = world.api();
    Api {
        creates: api.creates,
        updates: api.updates,
        merges: api.merges,
        status_writes: api.status_writes,
        ..Api::default()
    }
}

fn write_counts(creates: usize, merges: usize, status_writes: usize) -> Api {
    Api {
        creates,
        merges,
        status_writes,
        ..Api::default()
    }
}

/// `(branch, kinds of done, kinds of deferred)` for every environment of the JSON report.
fn environment_writes(json: &serde_json::Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let kinds = |list: &serde_json::Value| -> Vec<String> {
        list.as_array()
            .map(|steps| {
                steps
                    .iter()
                    .map(|s| {
                        let step = s.get("step").unwrap_or(s);
                        step["action"]["kind"].as_str().unwrap_or("?").to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    json["strategies"][0]["environments"]
        .as_array()
        .expect("environments")
        .iter()
        .map(|env| {
            (
                env["branch"].as_str().unwrap_or("?").to_owned(),
                kinds(&env["done"]),
                kinds(&env["deferred"]),
            )
        })
        .collect()
}

/// `reconcile --output json` plus `extra`: exit 0 (a deferral is not an error), the document.
fn json_pass(world: &World, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["reconcile", "--output", "json"];
    args.extend_from_slice(extra);
    let assert = world.promoter(&args);
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(0),
        "{stdout}{stderr}"
    );
    serde_json::from_str(&stdout).expect("json")
}

fn kinds(list: &[&str]) -> Vec<String> {
    list.iter().map(|k| (*k).to_owned()).collect()
}

fn a_write_budget_defers_the_rest_to_the_next_pass_which_completes_it(forge: Forge) {
    let world = five_environments(forge);

    let json = json_pass(&world, &["--max-writes", "2"]);
    // Exactly two writes reached the forge: dev's PR, and its merge.
    assert_eq!(
        writes(&world),
        write_counts(1, 1, 0),
        "{:?}",
        world.writes()
    );
    // Every other environment is reported with the writes its plan wanted (a merge is planned
    // once the PR is open, so it is not among them); none of them reached the forge.
    let left = kinds(&["writeStatus", "createPr"]);
    assert_eq!(
        environment_writes(&json),
        vec![
            (
                "environment/dev".into(),
                kinds(&["createPr", "merge"]),
                vec![]
            ),
            ("environment/qa".into(), vec![], left.clone()),
            ("environment/staging".into(), vec![], left.clone()),
            ("environment/canary".into(), vec![], left.clone()),
            ("environment/prod".into(), vec![], left),
        ],
        "{json:#}"
    );
    assert_eq!(json["writes"]["made"], 2, "{json:#}");
    assert_eq!(json["writes"]["budget"], 2, "{json:#}");
    assert!(
        json["writes"]["stopped"]
            .as_str()
            .is_some_and(|s| s.contains("`--max-writes`")),
        "{json:#}"
    );
    for env in 1..5 {
        assert_eq!(world.live_dry(env), None, "env {env} was not promoted");
    }

    // The next pass, with the default budget, promotes the four others.
    world.clear();
    let json = json_pass(&world, &[]);
    assert_eq!(
        writes(&world),
        write_counts(4, 4, 4),
        "{:?}",
        world.writes()
    );
    assert_eq!(json["writes"]["made"], 12, "{json:#}");
    assert!(json["writes"].get("stopped").is_none(), "{json:#}");
    for (branch, _, deferred) in environment_writes(&json) {
        assert!(deferred.is_empty(), "{branch} deferred: {json:#}");
    }
    let dev = world.live_dry(0);
    for env in 1..5 {
        assert_eq!(world.live_dry(env), dev, "env {env}");
    }

    // And the one after writes nothing.
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
}

per_forge!(a_write_budget_defers_the_rest_to_the_next_pass_which_completes_it,);

/// A budget that runs out inside an environment: dev's PR and merge, then qa's status and PR;
/// qa's merge (planned once its PR is open) waits for the next pass, which merges it first.
#[test]
fn a_budget_spent_inside_an_environment_leaves_its_merge_for_the_next_pass() {
    let world = five_environments(Forge::Github);
    let json = json_pass(&world, &["--max-writes", "4"]);
    assert_eq!(
        writes(&world),
        write_counts(2, 1, 1),
        "{:?}",
        world.writes()
    );
    let envs = environment_writes(&json);
    assert_eq!(
        envs[1],
        (
            "environment/qa".into(),
            kinds(&["writeStatus", "createPr"]),
            kinds(&["merge"])
        ),
        "{json:#}"
    );
    assert_eq!(world.open_pulls_of(1).len(), 1);

    world.clear();
    let json = json_pass(&world, &["--max-writes", "1"]);
    assert_eq!(
        writes(&world),
        write_counts(0, 1, 0),
        "{:?}",
        world.writes()
    );
    assert_eq!(environment_writes(&json)[1].1, kinds(&["merge"]));
    assert_eq!(world.live_dry(1), world.live_dry(0));
    assert!(world.open_pulls_of(1).is_empty());
}

/// In a GitHub Actions step the text report, the step summary and the `environments` output say
/// which environments were deferred, and why.
#[test]
fn the_text_report_and_the_step_summary_name_the_deferred_environments() {
    let world = five_environments(Forge::Github);
    let dir = world.dir.path();
    let (summary, outputs) = (dir.join("step-summary.md"), dir.join("github-output"));
    let assert = world
        .command(&["reconcile", "--max-writes", "2"], super::TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .assert();
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(0),
        "{stdout}{stderr}"
    );
    let line = "4 environments deferred to the next pass: the write budget of 2 (`--max-writes`) \
                is spent (2 writes made, budget 2, at most 80 a minute)";
    assert!(stdout.contains(&format!("\n{line}\n")), "{stdout}");
    assert_eq!(
        stdout.matches("deferred: open a pull request").count(),
        4,
        "{stdout}"
    );
    assert!(!stdout.contains("::error"), "{stdout}");
    let summary = std::fs::read_to_string(summary).expect("step summary");
    assert_eq!(
        summary.matches("| pending, deferred |").count(),
        4,
        "{summary}"
    );
    assert!(
        summary.contains("\n_4 environments deferred to the next pass: the write budget of 2"),
        "{summary}"
    );
    let outputs = std::fs::read_to_string(outputs).expect("outputs");
    assert_eq!(
        outputs.matches(r#""deferred":true"#).count(),
        4,
        "{outputs}"
    );
    assert_eq!(
        outputs.matches(r#""deferred":false"#).count(),
        1,
        "{outputs}"
    );
}

/// `--max-writes` takes a whole number from 1; anything else is a usage error (exit 2) before
/// any request, and so is combining it with `--dry-run`.
#[test]
fn a_bad_max_writes_is_a_usage_error_before_any_request() {
    let world = five_environments(Forge::Github);
    for (args, says) in [
        (&["--max-writes", "0"][..], "use `--dry-run`"),
        (&["--max-writes=-3"][..], "not a number of writes"),
        (&["--max-writes", "many"][..], "not a number of writes"),
        (
            &["--max-writes", "2", "--dry-run"][..],
            "cannot be used with",
        ),
    ] {
        let mut all = vec!["reconcile"];
        all.extend_from_slice(args);
        let assert = world.promoter(&all);
        let (stdout, stderr) = output(&assert);
        assert_eq!(
            assert.get_output().status.code(),
            Some(2),
            "{args:?}: {stderr}"
        );
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
    assert_eq!(world.sandbox.requests().len(), 0);
}

/// The dashboard's issue write counts in the budget: a pass that deferred promotions leaves the
/// dashboard to the next pass too (not a warning), and a pass with room writes it.
#[test]
fn a_spent_budget_leaves_the_dashboard_to_the_next_pass() {
    let world = five_environments(Forge::Github);
    let path = world.dir.path().join("promotion.yaml");
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str("dashboard:\n  enabled: true\n");
    std::fs::write(&path, text).expect("config");

    let json = json_pass(&world, &["--max-writes", "2"]);
    assert_eq!(json["dashboard"]["result"], "skipped", "{json:#}");
    assert!(
        json["dashboard"]["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("deferred to the next pass: the write budget of 2")),
        "{json:#}"
    );
    assert!(world.api_requests().iter().all(|r| !r.contains("/issues")));

    world.clear();
    let json = json_pass(&world, &[]);
    assert_eq!(json["dashboard"]["result"], "created", "{json:#}");
    assert_eq!(json["writes"]["made"], 13, "{json:#}");
}

/// GitHub's hourly limit spans passes: the times of the last hour's writes are kept in the cache
/// directory, one line each, and a pass that finds 500 there writes nothing more.
#[test]
fn the_hourly_limit_counts_the_writes_of_earlier_passes_sharing_the_cache() {
    let world = five_environments(Forge::Github);
    json_pass(&world, &["--max-writes", "2"]);
    let cache = world.dir.path().join("cache");
    let logs: Vec<_> = std::fs::read_dir(&cache)
        .expect("cache dir")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("writes-") && n.ends_with(".log"))
        })
        .collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let text = std::fs::read_to_string(&logs[0]).expect("write log");
    let times: Vec<&str> = text.lines().collect();
    assert_eq!(times.len(), 2, "{text}");

    // As if earlier passes had made 497 more writes two minutes before (in the last hour, not in
    // the last minute, so the pace does not wait): 499 in the last hour.
    let before: u64 = times[0].parse::<u64>().expect("a Unix time") - 120;
    let mut full = text.clone();
    for _ in 0..497 {
        full.push_str(&format!("{before}\n"));
    }
    std::fs::write(&logs[0], full).expect("write log");
    world.clear();
    let json = json_pass(&world, &[]);
    assert_eq!(
        writes(&world),
        write_counts(0, 0, 1),
        "{:?}",
        world.writes()
    );
    let stopped = json["writes"]["stopped"].as_str().unwrap_or_default();
    assert!(
        stopped.starts_with("500 writes were made in the last hour"),
        "{json:#}"
    );
    assert_eq!(
        std::fs::read_to_string(&logs[0])
            .expect("write log")
            .lines()
            .count(),
        500
    );
}
