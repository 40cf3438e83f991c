//! `--strategy NAME`: a pass over one strategy of several.

use super::{Forge, NAME, OWNER, World};

/// Two strategies on one repository: `web` over dev and staging, `batch` over qa.
fn two_strategies(world: &World) {
    let text = format!(
        "scm:\n  provider: {}\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n  cloneUrl: {}\n\
         strategies:\n  - name: web\n    environments:\n      - branch: environment/dev\n      - branch: environment/staging\n\
         \x20 - name: batch\n    environments:\n      - branch: environment/qa\n",
        world.forge.provider(),
        world.forge.api_url(&world.sandbox),
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

per_forge!(
    strategy_flag_reconciles_only_the_named_strategy,
    an_unknown_strategy_is_a_usage_error_naming_the_known_ones,
);
