//! `history`, `where` and `metrics` (docs/insight.md): the real binary reads a promotion history
//! that promoter, a person's merge in the forge, a squash push and a no-op hydration made, and
//! sends no API request while doing so.

use sandbox::Sha;
use sandbox::{CommitSpec, Hydration};
use serde_json::Value;

use crate::reconcile::{Forge, NAME, OWNER, World, output};

/// 2023-11-14T22:13:20Z: the history starts here.
const T0: i64 = 1_700_000_000;
const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// The hydrator renders `dry` for environment `env` at `time` (the metadata's DRY date).
fn hydrate_at(world: &World, env: usize, dry: &Sha, subject: &str, time: i64) {
    world
        .sandbox
        .hydrate(
            OWNER,
            NAME,
            &Hydration::new(&world.envs[env], dry)
                .file("manifest.yaml", &format!("dry: {dry}\n"))
                .subject(subject)
                .at(time),
        )
        .expect("hydrate");
}

/// dev and prod without gates, and this history (merge times pinned):
/// - A dated T0, merged by promoter into both at T0+1h;
/// - B dated T0+1d, merged by promoter into both at T0+1d+2h;
/// - C dated T0+2d, merged into dev by a person in the forge at T0+2d+3h, and squash-pushed to
///   prod at T0+2d+5h;
/// - D dated T0+3d, hydrated for dev only (on its way);
/// - E, a no-op hydration noted on prod's staging tip.
struct History {
    world: World,
    a: Sha,
    c: Sha,
    d: Sha,
    e: Sha,
    human_pr: u64,
}

fn history() -> History {
    let mut world = World::new(Forge::Github, &["dev", "prod"]);
    world.config("", &|_| String::new());
    let a = world.dry_change("change A");
    hydrate_at(&world, 0, &a, "change A", T0);
    hydrate_at(&world, 1, &a, "change A", T0);
    world.sandbox.set_merge_time(Some(T0 + HOUR));
    world.reconcile().success();

    let b = world.dry_change("change B");
    hydrate_at(&world, 0, &b, "change B", T0 + DAY);
    hydrate_at(&world, 1, &b, "change B", T0 + DAY);
    world.sandbox.set_merge_time(Some(T0 + DAY + 2 * HOUR));
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(b.as_str()));

    // C: dev's PR is left to a person, who merges it in the forge.
    let c = world.dry_change("change C");
    hydrate_at(&world, 0, &c, "change C", T0 + 2 * DAY);
    hydrate_at(&world, 1, &c, "change C", T0 + 2 * DAY);
    world.config("", &|i| {
        if i == 0 {
            "        autoMerge: false\n".to_owned()
        } else {
            String::new()
        }
    });
    world.reconcile().success();
    let human_pr = world.open_pulls_of(0)[0].number;
    world.sandbox.set_merge_time(Some(T0 + 2 * DAY + 3 * HOUR));
    world.merge_by_hand(human_pr);
    // prod: squashed by hand, one commit with the staging tip's files.
    let staged = world.staging_tip(1);
    let metadata = world
        .sandbox
        .read_file(OWNER, NAME, &staged, "hydrator.metadata")
        .unwrap()
        .unwrap();
    world
        .sandbox
        .commit(
            OWNER,
            NAME,
            &world.envs[1],
            &CommitSpec::new("change C (squashed)")
                .file("hydrator.metadata", &metadata)
                .file("manifest.yaml", &format!("dry: {c}\n"))
                .at(T0 + 2 * DAY + 5 * HOUR),
        )
        .unwrap();
    assert_eq!(world.live_dry(1).as_deref(), Some(c.as_str()));

    let d = world.dry_change("change D");
    hydrate_at(&world, 0, &d, "change D", T0 + 3 * DAY);
    let e = world.dry_change("change E");
    world
        .sandbox
        .hydrate_noop(OWNER, NAME, &world.staging(1), &e)
        .unwrap();
    world.clear();
    History {
        world,
        a,
        c,
        d,
        e,
        human_pr,
    }
}

fn json(world: &World, args: &[&str]) -> (Value, i32) {
    let mut full = args.to_vec();
    full.extend(["--output", "json"]);
    let assert = world.promoter(&full);
    let code = assert.get_output().status.code().unwrap();
    let (stdout, stderr) = output(&assert);
    let value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\nstderr: {stderr}"));
    (value, code)
}

fn environment<'a>(report: &'a Value, branch: &str) -> &'a Value {
    report["strategies"][0]["environments"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["branch"] == branch)
        .unwrap_or_else(|| panic!("{branch} in {report}"))
}

#[test]
fn history_tells_promoter_merges_a_persons_merge_and_a_squash_from_git_alone() {
    let h = history();
    let (report, code) = json(&h.world, &["history"]);
    assert_eq!(code, 0, "{report}");

    let dev = environment(&report, "environment/dev")["promotions"]
        .as_array()
        .unwrap();
    let dev_rows: Vec<(&str, &str, &str)> = dev
        .iter()
        .map(|p| {
            (
                p["drySubject"].as_str().unwrap(),
                p["mergeKind"].as_str().unwrap(),
                p["mergedAt"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        dev_rows,
        [
            ("change C", "merge-commit", "2023-11-17T01:13:20Z"),
            ("change B", "trailers", "2023-11-16T00:13:20Z"),
            ("change A", "trailers", "2023-11-14T23:13:20Z"),
        ]
    );
    assert_eq!(dev[0]["pullRequest"], format!("#{}", h.human_pr));
    assert_eq!(dev[0]["drySha"], h.c.as_str());
    assert_eq!(dev[2]["drySha"], h.a.as_str());
    assert!(
        dev[1]["pullRequestUrl"]
            .as_str()
            .unwrap()
            .contains("/pull/")
    );

    let prod = environment(&report, "environment/prod")["promotions"]
        .as_array()
        .unwrap();
    let kinds: Vec<&str> = prod
        .iter()
        .map(|p| p["mergeKind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["commit", "trailers", "trailers"]);
    assert_eq!(prod[0]["drySha"], h.c.as_str());
    assert_eq!(prod[0]["pullRequest"], Value::Null);

    // --environment and --since narrow it.
    let (narrow, _) = json(
        &h.world,
        &[
            "history",
            "--environment",
            "environment/prod",
            "--since",
            "2023-11-16T00:00:00Z",
        ],
    );
    let envs = narrow["strategies"][0]["environments"].as_array().unwrap();
    assert_eq!(envs.len(), 1);
    assert_eq!(envs[0]["promotions"].as_array().unwrap().len(), 2);

    let text = h.world.promoter(&["history"]).success();
    let (stdout, _) = output(&text);
    assert!(
        stdout.contains("change C") && stdout.contains(&format!("#{}", h.human_pr)),
        "{stdout}"
    );
    assert!(
        h.world.api_requests().is_empty(),
        "{:?}",
        h.world.api_requests()
    );
}

#[test]
fn where_says_which_environments_have_a_dry_commit_live_and_exits_for_scripts() {
    let h = history();
    // C: a person's merge on dev, a squash on prod: live everywhere.
    let (c, code) = json(&h.world, &["where", &h.c.as_str()[..10]]);
    assert_eq!(code, 0, "{c}");
    assert_eq!(environment(&c, "environment/dev")["state"], "live");
    assert_eq!(
        environment(&c, "environment/dev")["pullRequest"],
        format!("#{}", h.human_pr)
    );
    assert_eq!(
        environment(&c, "environment/prod")["since"],
        "2023-11-17T03:13:20Z"
    );

    // A: live everywhere, under C now.
    let (a, code) = json(&h.world, &["where", h.a.as_str()]);
    assert_eq!(code, 0);
    assert_eq!(
        environment(&a, "environment/prod")["supersededBy"],
        h.c.as_str()
    );

    // D: staged for dev only: on its way (3).
    let (d, code) = json(&h.world, &["where", h.d.as_str()]);
    assert_eq!(code, 3, "{d}");
    assert_eq!(environment(&d, "environment/dev")["state"], "staged");
    assert_eq!(environment(&d, "environment/prod")["state"], "not-seen");

    // E: a no-op on prod, whose output (C) is live; dev has never seen it.
    let (e, code) = json(&h.world, &["where", h.e.as_str()]);
    assert_eq!(code, 3, "{e}");
    assert_eq!(environment(&e, "environment/prod")["state"], "live-no-op");

    // Unknown everywhere (4); not a SHA (2).
    h.world.promoter(&["where", "0123456789abcdef"]).code(4);
    h.world.promoter(&["where", "main"]).code(2);
    let text = h.world.promoter(&["where", h.d.as_str()]).code(3);
    let (stdout, _) = output(&text);
    assert!(
        stdout.contains("on its way") && stdout.contains("not seen"),
        "{stdout}"
    );
    assert!(h.world.api_requests().is_empty());
}

#[test]
fn metrics_give_the_known_figures_of_a_constructed_history() {
    let h = history();
    let (report, code) = json(
        &h.world,
        &["metrics", "--since", "2023-11-14", "--until", "2023-11-24"],
    );
    assert_eq!(code, 0, "{report}");
    let dev = environment(&report, "environment/dev");
    assert_eq!(dev["promotions"], 3);
    assert!((dev["perDay"].as_f64().unwrap() - 0.3).abs() < 1e-9);
    // Lead times 1h, 2h, 3h.
    assert_eq!(dev["leadTime"]["medianSeconds"], 2 * HOUR);
    assert_eq!(dev["leadTime"]["p90Seconds"], 3 * HOUR);
    let prod = environment(&report, "environment/prod");
    // Lead times 1h, 2h, 5h; after dev 0, 0, 2h.
    assert_eq!(prod["leadTime"]["medianSeconds"], 2 * HOUR);
    assert_eq!(prod["leadTime"]["p90Seconds"], 5 * HOUR);
    assert_eq!(prod["afterPrevious"]["count"], 3);
    assert_eq!(prod["afterPrevious"]["medianSeconds"], 0);
    assert_eq!(prod["afterPrevious"]["p90Seconds"], 2 * HOUR);

    let markdown = h
        .world
        .promoter(&[
            "metrics",
            "--since",
            "2023-11-14",
            "--until",
            "2023-11-24",
            "--output",
            "markdown",
        ])
        .success();
    let (stdout, _) = output(&markdown);
    assert!(
        stdout.contains("| app | `environment/prod` | 3 | 0.30 | 2h 0m | 5h 0m | 0s | 2h 0m |"),
        "{stdout}"
    );
    // A window that starts after C went live on dev (01:13Z) and before prod (03:13Z): prod's
    // wait after dev still counts from dev's merge, outside the window.
    let (late, _) = json(
        &h.world,
        &[
            "metrics",
            "--since",
            "2023-11-17T02:00:00Z",
            "--until",
            "2023-11-24",
        ],
    );
    assert_eq!(environment(&late, "environment/dev")["promotions"], 0);
    let prod = environment(&late, "environment/prod");
    assert_eq!(prod["promotions"], 1);
    assert_eq!(prod["afterPrevious"]["count"], 1);
    assert_eq!(prod["afterPrevious"]["medianSeconds"], 2 * HOUR);
    h.world
        .promoter(&["metrics", "--since", "tomorrow"])
        .code(2);
    assert!(h.world.api_requests().is_empty());
}
