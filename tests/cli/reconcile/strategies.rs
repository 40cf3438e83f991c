//! `--strategy NAME` and `--shard K/N`: a pass over some strategies of several.

use super::{Forge, NAME, OWNER, World};

/// Two strategies on one repository: `web` over dev and staging, `batch` over qa.
fn two_strategies(world: &World) {
    let text = format!(
        "scm:\n  provider: {}\n  apiUrl: {}\nrepository:\n  owner: {}\n  name: {NAME}\n  cloneUrl: {}\n\
         strategies:\n  - name: web\n    environments:\n      - branch: environment/dev\n      - branch: environment/staging\n\
         \x20 - name: batch\n    environments:\n      - branch: environment/qa\n",
        world.forge.provider(),
        world.forge.api_url(&world.sandbox),
        world.forge.owner(),
        world.sandbox.clone_url(OWNER, NAME)
    );
    std::fs::write(world.dir.path().join("promotion.yaml"), text).unwrap();
}

fn strategy_flag_reconciles_only_the_named_strategy(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging", "qa"]);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    two_strategies(&world);

    let out = world
        .promoter(&["reconcile", "--strategy", "batch", "--output", "json"])
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let names: Vec<_> = json["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect();
    assert_eq!(names, ["batch"]);
    assert_eq!(
        world.live_dry(2).as_deref(),
        Some(dry.as_str()),
        "qa promoted"
    );
    assert_eq!(world.live_dry(0), None, "dev untouched");
    assert_eq!(world.live_dry(1), None, "staging untouched");
    assert_eq!(world.sandbox.pulls(OWNER, NAME).unwrap().len(), 1);
}

fn an_unknown_strategy_is_a_usage_error_naming_the_known_ones(forge: Forge) {
    let world = World::new(forge, &["dev", "staging", "qa"]);
    two_strategies(&world);
    let out = world.promoter(&["reconcile", "--strategy", "nope"]).code(2);
    let output = out.get_output();
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("no strategy named `nope`") && stderr.contains("web, batch"),
        "{stderr}"
    );
    assert!(
        world.sandbox.requests().is_empty(),
        "nothing is fetched or asked before the check"
    );
}

/// The strategy names of a `status --output json` run.
fn statused(command: &mut assert_cmd::Command) -> Vec<String> {
    let out = command.assert().success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    json["strategies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn the_shards_of_a_pass_split_the_strategies_and_gitlab_parallel_picks_one(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging", "qa"]);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    two_strategies(&world);
    let status = |extra: &[&str]| {
        let mut args = vec!["status", "--output", "json"];
        args.extend_from_slice(extra);
        world.command(&args, super::TOKEN)
    };

    // fnv1a64 mod 3: web 1, batch 2 (src/shard.rs), so shard 1 of 3 is empty.
    let shards: Vec<Vec<String>> = (1..=3)
        .map(|k| statused(&mut status(&["--shard", &format!("{k}/3")])))
        .collect();
    assert_eq!(shards, [vec![], vec!["web"], vec!["batch"]]);
    assert_eq!(statused(&mut status(&["--shard", "1/1"])), ["web", "batch"]);

    // A GitLab job with `parallel: 3` is shard CI_NODE_INDEX of CI_NODE_TOTAL (1-based).
    let mut parallel = status(&[]);
    parallel.env("CI_NODE_INDEX", "3").env("CI_NODE_TOTAL", "3");
    assert_eq!(statused(&mut parallel), ["batch"]);
}

fn a_bad_shard_is_a_usage_error_before_any_request(forge: Forge) {
    let world = World::new(forge, &["dev", "staging", "qa"]);
    two_strategies(&world);
    for bad in ["0/2", "3/2", "1/0", "two/3"] {
        let out = world
            .promoter(&["reconcile", "--dry-run", "--shard", bad])
            .code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
        assert!(stderr.contains(&format!("`--shard {bad}`")), "{stderr}");
    }
    let out = world
        .command(&["status"], super::TOKEN)
        .env("CI_NODE_INDEX", "3")
        .env("CI_NODE_TOTAL", "2")
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("CI_NODE_INDEX=3 CI_NODE_TOTAL=2"),
        "{stderr}"
    );
    assert!(world.sandbox.requests().is_empty());
}

per_forge!(
    strategy_flag_reconciles_only_the_named_strategy,
    an_unknown_strategy_is_a_usage_error_naming_the_known_ones,
    the_shards_of_a_pass_split_the_strategies_and_gitlab_parallel_picks_one,
    a_bad_shard_is_a_usage_error_before_any_request,
);
