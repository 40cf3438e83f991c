//! `status` and `reconcile --dry-run`: read-only passes and their renderings.

use super::{Forge, NAME, OWNER, World};

fn with_health(_: usize) -> String {
    String::new()
}

fn health_config(world: &World) {
    world.config(
        "    activeCommitStatuses:\n      - key: health\n",
        &with_health,
    );
}

fn dry_run_prints_the_plan_and_writes_nothing(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    health_config(&world);
    let before: Vec<_> = world.envs.iter().map(|e| world.tip(e)).collect();

    let out = world.promoter(&["reconcile", "--dry-run"]).success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(
        stdout.contains("would open a pull request environment/dev-next → environment/dev"),
        "{stdout}"
    );
    assert!(
        stdout.ends_with("dry run: nothing was written\n"),
        "{stdout}"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    assert!(world.sandbox.pulls(OWNER, NAME).unwrap().is_empty());
    let after: Vec<_> = world.envs.iter().map(|e| world.tip(e)).collect();
    assert_eq!(before, after);

    let out = world
        .promoter(&["reconcile", "--dry-run", "--output", "json"])
        .success();
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    assert_eq!(json["mode"], "dry-run");
    let dev = &json["strategies"][0]["environments"][0];
    assert_eq!(dev["planned"][0]["action"]["kind"], "createPr", "{dev:#}");
    assert_eq!(dev["done"].as_array().unwrap().len(), 0);
}

fn status_shows_every_environments_health_and_writes_nothing(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    health_config(&world);
    world.reconcile().success();
    let dev_tip = world.tip("environment/dev");
    world
        .sandbox
        .set_status(OWNER, NAME, &dev_tip, "health", "success", "healthy")
        .unwrap();
    world.reconcile().success();
    let staging_tip = world.tip("environment/staging");
    world
        .sandbox
        .set_status(OWNER, NAME, &staging_tip, "health", "failure", "degraded")
        .unwrap();
    world.sandbox.clear_requests();

    let out = world.promoter(&["status", "--output", "json"]).success();
    assert_eq!(world.writes(), Vec::<String>::new());
    let json: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(json["mode"], "status");
    let envs = json["strategies"][0]["environments"].as_array().unwrap();
    let phases: Vec<_> = envs
        .iter()
        .map(|e| e["summary"]["phase"].as_str().unwrap())
        .collect();
    assert_eq!(phases, ["promoted", "promoted"]);
    let health: Vec<_> = envs
        .iter()
        .map(|e| e["summary"]["activeGates"][0]["state"].as_str().unwrap())
        .collect();
    assert_eq!(
        health,
        ["success", "failure"],
        "status reads the live health of every environment"
    );

    let out = world
        .promoter(&["status", "--output", "markdown"])
        .success();
    let markdown = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(markdown.contains("| Environment | Phase |"), "{markdown}");
    assert!(
        markdown.contains("| `environment/staging` | promoted |"),
        "{markdown}"
    );
    assert!(markdown.contains("health ✗"), "{markdown}");
}

/// Issue 11, item 10: an environment that fails says so on stderr (`error:` with strategy, branch,
/// cause and hint) in every output mode and with `-q`, so a CI log shows why the job exited 1 even
/// when stdout carries JSON or goes to a file.
fn a_failed_environment_is_an_error_line_on_stderr_in_every_output_mode(forge: Forge) {
    let mut world = World::new(forge, &["dev", "staging"]);
    let dry = world.dry_change("change");
    world.hydrate(0, &dry);
    world.config("", &|_| String::new());

    let runs: [&[&str]; 6] = [
        &["reconcile"],
        &["reconcile", "--output", "json"],
        &["reconcile", "-q", "--output", "json"],
        &["reconcile", "--dry-run", "--output", "json"],
        &["status", "--output", "json"],
        &["status", "-q", "--output", "markdown"],
    ];
    for args in runs {
        let out = world.promoter(args).code(1);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(
            errors.len(),
            1,
            "{args:?}: one failed environment: {stderr}"
        );
        assert!(
            errors[0].contains("strategy app")
                && errors[0].contains("environment/staging")
                && errors[0].contains("staging branch environment/staging-next does not exist"),
            "{args:?}: {stderr}"
        );
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("hint: run the hydrator")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("environment/dev:"), "{args:?}: {stderr}");
    }
}

per_forge!(
    dry_run_prints_the_plan_and_writes_nothing,
    status_shows_every_environments_health_and_writes_nothing,
    a_failed_environment_is_an_error_line_on_stderr_in_every_output_mode,
);
