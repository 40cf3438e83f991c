//! Scenarios 4–7 of issue 5: idempotent passes, a new DRY change mid-promotion, a conflict on a
//! live branch, and `autoMerge: false`; plus `status` (read-only) and the JSON key style. Each
//! pass's API requests are counted exactly.

use super::{Forge, NAME, OWNER, World, output};

const HEALTH: &str = "    activeCommitStatuses:\n      - key: health\n";

fn no_extra(_: usize) -> String {
    String::new()
}

fn a_second_pass_over_an_unchanged_world_writes_nothing_and_a_promoted_world_costs_no_request(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(
        "    proposedCommitStatuses:\n      - key: scan\n",
        &no_extra,
    );

    world.reconcile().success();
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    assert_eq!(world.api(), world.budget(1, 2, 2, 0, 0, 1), "first pass");
    for again in 0..2 {
        world.clear();
        world.reconcile().success();
        assert_eq!(world.writes(), Vec::<String>::new(), "pass {again}");
        // One listing for both environments' PRs (observe.rs).
        assert_eq!(world.api(), world.budget(1, 2, 0, 0, 0, 0), "pass {again}");
    }

    world.report(&world.staging_tip(0), "scan", "success");
    world.report(&world.staging_tip(1), "scan", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()));

    for again in 0..2 {
        world.clear();
        let (stdout, stderr) = output(&world.reconcile().success());
        // Only git's ref listing reaches the forge; the REST API is not called at all.
        assert_eq!(
            world.api().total(),
            0,
            "promoted pass {again}\n{stdout}\n{stderr}"
        );
        assert!(
            world
                .sandbox
                .requests()
                .iter()
                .all(|r| r.path.starts_with("/acme/deploy.git/")),
            "{:?}",
            world.sandbox.requests()
        );
        if again == 1 {
            // The cache is current: the ref listing (the token goes with it, no 401 challenge
            // first), and no fetch.
            let git: Vec<String> = world
                .sandbox
                .requests()
                .iter()
                .map(|r| format!("{} {} {}", r.method, r.path, r.status))
                .collect();
            assert_eq!(git, ["GET /acme/deploy.git/info/refs 200"]);
        }
    }
}

fn a_new_dry_change_mid_promotion_updates_the_same_pull_requests_and_later_environments_wait_for_it(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config(HEALTH, &no_extra);
    world.reconcile().success();
    world.report(&world.live_tip(0), "health", "success");
    assert_eq!(world.live_dry(0).as_deref(), Some(first.as_str()));
    let staging_pr = world.open_pulls_of(1)[0].number;
    let prod_pr = world.open_pulls_of(2)[0].number;

    // The second change arrives before staging merged the first.
    let second = world.dry_change("second");
    world.hydrate_all(&second);
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(
        world.live_dry(0).as_deref(),
        Some(second.as_str()),
        "{stdout}"
    );
    assert_eq!(
        world.live_dry(1),
        None,
        "staging waits for the new change healthy in dev"
    );
    assert_eq!(
        world.previous_gate(1),
        Some((
            "pending".to_owned(),
            "Waiting for `health` on `environment/dev`".to_owned()
        ))
    );
    for env in 0..3 {
        assert!(world.open_pulls_of(env).len() <= 1, "env {env}");
    }
    let staging = &world.open_pulls_of(1)[0];
    assert_eq!(staging.number, staging_pr, "the same PR, updated");
    assert!(staging.title.contains(second.short()), "{}", staging.title);
    assert_eq!(world.open_pulls_of(2)[0].number, prod_pr);
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    // dev: new PR + merge; staging, prod: PATCH (new title) + pending status on the new heads.
    assert_eq!(
        world.api(),
        world.budget(1, 3, 1, 2, 1, 2),
        "{:?}",
        world.writes()
    );

    world.report(&world.live_tip(0), "health", "success");
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(1).as_deref(), Some(second.as_str()));
    assert_eq!(world.live_dry(2), None);
    world.report(&world.live_tip(1), "health", "success");
    world.reconcile().success();
    assert_eq!(world.live_dry(2).as_deref(), Some(second.as_str()));
    // dev merged twice (two PRs), staging and prod once each.
    assert_eq!(world.pulls_of(0).len(), 2);
    assert_eq!(world.pulls_of(1).len(), 1);
    assert_eq!(world.pulls_of(2).len(), 1);
}

fn a_conflict_on_the_live_branch_is_resolved_by_an_ours_merge_on_staging_then_promoted(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.hotfix_live(0);
    world.config("", &no_extra);
    let staging_before = world.staging_tip(0);
    let live_before = world.live_tip(0);

    let (stdout, _) = output(&world.reconcile().success());
    let staging = world.staging_tip(0);
    assert_ne!(staging, staging_before, "{stdout}");
    let parents = world.sandbox.parents(OWNER, NAME, &staging).unwrap();
    assert_eq!(parents, vec![staging_before.clone(), live_before.clone()]);
    assert_eq!(
        world
            .sandbox
            .commit_message(OWNER, NAME, &staging)
            .unwrap()
            .trim(),
        "Merge environment/dev into environment/dev-next (ours)"
    );
    assert_eq!(world.live_tip(0), live_before, "nothing else this pass");
    assert_eq!(world.pulls_of(0).len(), 0);
    assert_eq!(
        world.api(),
        world.budget(0, 0, 0, 0, 0, 0),
        "a conflict reads nothing from the SCM"
    );

    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()));
    let manifest = world
        .sandbox
        .read_file(OWNER, NAME, &world.live_tip(0), "manifest.yaml")
        .unwrap()
        .unwrap();
    assert!(manifest.starts_with(&format!("dry: {dry}")), "{manifest}");
    assert_eq!(world.api(), world.budget(1, 1, 1, 0, 1, 0));
}

fn without_auto_merge_the_pull_request_is_kept_up_to_date_and_a_persons_merge_is_picked_up(
    forge: Forge,
) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let first = world.dry_change("first");
    world.hydrate_all(&first);
    world.config("", &|i| {
        if i == 0 {
            "        autoMerge: false\n".to_owned()
        } else {
            String::new()
        }
    });

    world.reconcile().success();
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    assert_eq!(world.live_dry(0), None);
    let pr = world.open_pulls_of(0)[0].number;
    assert_eq!(world.api(), world.budget(1, 2, 2, 0, 0, 1));

    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.live_dry(0), None, "never merged by promoter");

    let second = world.dry_change("second");
    world.hydrate_all(&second);
    world.clear();
    world.reconcile().success();
    let open = world.open_pulls_of(0);
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].number, pr);
    assert!(open[0].title.contains(second.short()), "{}", open[0].title);
    assert_eq!(world.live_dry(0), None);
    assert_eq!(world.api().merges, 0);

    world.merge_by_hand(pr);
    world.clear();
    world.reconcile().success();
    assert_eq!(world.live_dry(0).as_deref(), Some(second.as_str()));
    assert_eq!(
        world.live_dry(1).as_deref(),
        Some(second.as_str()),
        "staging follows"
    );
    assert_eq!(
        world.api(),
        world.budget(1, 1, 0, 1, 1, 1),
        "{:?}",
        world.writes()
    );
}

fn status_reports_every_environment_read_only(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(HEALTH, &no_extra);
    world.reconcile().success();

    world.clear();
    let (json, stderr) = output(&world.promoter(&["status", "--output", "json"]).success());
    assert_eq!(world.writes(), Vec::<String>::new(), "{stderr}");
    // The open PRs of every environment that needs one come from one listing (observe.rs).
    // The reads a reconcile pass would make (staging and prod: PR + gates on the staging tip), plus
    // the live health of every environment with active gates (dev, staging, prod), which status
    // shows even where no plan needs it: five reads wanted, but one commit is wanted twice and
    // read once (observe.rs reads each SHA once per pass).
    assert_eq!(world.api(), world.budget(1, 4, 0, 0, 0, 0));
    let json: serde_json::Value = serde_json::from_str(&json).expect("status json");
    let envs = &json["strategies"][0]["environments"];
    let phases: Vec<&str> = (0..3)
        .map(|i| envs[i]["summary"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["promoted", "pending", "pending"], "{json:#}");
    assert_eq!(
        envs[1]["summary"]["reason"].as_str(),
        Some("`promoter-previous-environment`: Waiting for `health` on `environment/dev`"),
        "{json:#}"
    );

    let (text, _) = output(&world.promoter(&["status"]).success());
    assert!(
        text.contains("Waiting for `health` on `environment/dev`"),
        "{text}"
    );
    for branch in &world.envs {
        assert!(text.contains(branch.as_str()), "{text}");
    }
    let (markdown, _) = output(
        &world
            .promoter(&["status", "--output", "markdown"])
            .success(),
    );
    assert!(
        markdown.contains("| `environment/dev` | promoted |"),
        "{markdown}"
    );
    assert!(
        markdown.contains("| `environment/prod` | pending |"),
        "{markdown}"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
}

/// Every object key in `value` (recursively), as `path.key`.
fn keys(value: &serde_json::Value, path: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, inner) in map {
                out.push(format!("{path}.{key}"));
                keys(inner, &format!("{path}.{key}"), out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                keys(item, &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

fn json_reports_use_camel_case_keys_throughout(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(HEALTH, &no_extra);
    let mut found = Vec::new();
    for args in [
        &["reconcile", "--output", "json"][..],
        &["status", "--output", "json"][..],
    ] {
        let (stdout, _) = output(&world.promoter(args).success());
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
        keys(&json, args[0], &mut found);
    }
    let snake: std::collections::BTreeSet<&String> =
        found.iter().filter(|k| k.contains('_')).collect();
    assert!(snake.is_empty(), "{snake:#?}");
    assert!(
        found.iter().any(|k| k.ends_with(".summary.liveDry")),
        "{found:#?}"
    );
}

per_forge!(
    a_second_pass_over_an_unchanged_world_writes_nothing_and_a_promoted_world_costs_no_request,
    a_new_dry_change_mid_promotion_updates_the_same_pull_requests_and_later_environments_wait_for_it,
    a_conflict_on_the_live_branch_is_resolved_by_an_ours_merge_on_staging_then_promoted,
    without_auto_merge_the_pull_request_is_kept_up_to_date_and_a_persons_merge_is_picked_up,
    status_reports_every_environment_read_only,
    json_reports_use_camel_case_keys_throughout,
);
