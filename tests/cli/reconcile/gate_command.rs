//! `promoter gate set|get` (issue 15): a CI job writes and reads a gate's commit status through
//! the configured provider, on an environment's live or staging tip or on a SHA; then the pass
//! decides from it. The same commands on every forge dialect.

use super::{Forge, World, output};

/// A command line's words (none of them has a space).
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn world_with_e2e(forge: Forge) -> (World, sandbox::Sha) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    world.config("    proposedCommitStatuses:\n      - key: e2e\n", &|_| {
        String::new()
    });
    (world, dry)
}

fn a_job_sets_and_reads_a_gate_on_an_environment_and_the_pass_merges_on_it(forge: Forge) {
    let (world, dry) = world_with_e2e(forge);

    // On the live tip, with a description and a link.
    let (stdout, _) = output(
        &world
            .promoter(&[
                "gate",
                "set",
                "e2e",
                "success",
                "--environment",
                "environment/dev",
                "--description",
                "smoke suite passed",
                "--url",
                "https://ci.example/runs/7",
            ])
            .success(),
    );
    let live = world.live_tip(0);
    assert_eq!(stdout, format!("e2e success on environment/dev ({live})\n"));
    assert_eq!(
        world.status(&live, "e2e"),
        Some(("success".to_owned(), "smoke suite passed".to_owned()))
    );
    let (stdout, _) = output(
        &world
            .promoter(&["gate", "get", "e2e", "--environment", "environment/dev"])
            .success(),
    );
    assert_eq!(
        stdout,
        format!(
            "e2e success on environment/dev ({}): smoke suite passed\n  https://ci.example/runs/7\n",
            live.short()
        )
    );

    // Pending on the staging tip holds the merge; success there lets the pass merge.
    world
        .promoter(&words(
            "gate set e2e pending --environment environment/dev --proposed",
        ))
        .success();
    let staging = world.staging_tip(0);
    assert_eq!(
        world.status(&staging, "e2e").map(|s| s.0).as_deref(),
        Some("pending")
    );
    world.reconcile().success();
    assert_eq!(world.live_dry(0), None);
    world
        .promoter(&["gate", "set", "e2e", "success", "--sha", staging.as_str()])
        .success();
    let (stdout, _) = output(&world.reconcile().success());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");

    // JSON for scripts.
    let (stdout, _) = output(
        &world
            .promoter(&[
                "gate",
                "get",
                "e2e",
                "--sha",
                staging.as_str(),
                "--output",
                "json",
            ])
            .success(),
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(json["state"], "success");
    assert_eq!(json["sha"], staging.as_str());
}

per_forge!(a_job_sets_and_reads_a_gate_on_an_environment_and_the_pass_merges_on_it);

#[test]
fn bad_arguments_exit_2_before_any_request_and_a_missing_branch_exits_1() {
    let (world, _) = world_with_e2e(Forge::Github);
    let full = "a".repeat(40);
    let usage = [
        "gate set e2e green --environment environment/dev".to_owned(),
        "gate set e2e success".to_owned(),
        "gate set e2e success --environment environment/qa".to_owned(),
        "gate set e2e success --sha abc".to_owned(),
        "gate set e2e! success --environment environment/dev".to_owned(),
        "gate set promoter-previous-environment success --environment environment/dev".to_owned(),
        format!("gate set e2e success --sha {full} --proposed"),
        "gate set e2e success --environment environment/dev --url ftp://x".to_owned(),
    ];
    world.clear();
    for line in usage {
        let assert = world.promoter(&words(&line));
        let (stdout, stderr) = output(&assert);
        assert_eq!(
            assert.get_output().status.code(),
            Some(2),
            "{line}: {stdout}{stderr}"
        );
    }
    assert_eq!(world.api_requests(), Vec::<String>::new());
    // The staging branch of an environment the hydrator never pushed: a run-time failure.
    world
        .sandbox
        .create_branch(
            super::OWNER,
            super::NAME,
            "environment/qa",
            "environment/dev",
        )
        .expect("branch");
    std::fs::write(
        world.dir.path().join("promotion.yaml"),
        std::fs::read_to_string(world.dir.path().join("promotion.yaml"))
            .unwrap()
            .replace(
                "      - branch: environment/dev\n",
                "      - branch: environment/dev\n      - branch: environment/qa\n",
            ),
    )
    .unwrap();
    let assert = world.promoter(&[
        "gate",
        "set",
        "e2e",
        "success",
        "--environment",
        "environment/qa",
        "--proposed",
    ]);
    let (_, stderr) = output(&assert);
    assert_eq!(assert.get_output().status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("branch `environment/qa-next` does not exist")
            && stderr.contains("the hydrator has not pushed the staging branch yet"),
        "{stderr}"
    );
}

#[test]
fn in_monorepo_mode_a_proposed_target_needs_the_strategy() {
    let (world, _) = world_with_e2e(Forge::Github);
    let config = std::fs::read_to_string(world.dir.path().join("promotion.yaml")).unwrap();
    let (head, _) = config.split_once("strategies:\n").unwrap();
    std::fs::write(
        world.dir.path().join("promotion.yaml"),
        format!(
            "{head}strategies:\n  - name: web\n    activePath: apps/web\n    environments:\n      - branch: environment/dev\n\
             \x20 - name: api\n    activePath: apps/api\n    environments:\n      - branch: environment/dev\n"
        ),
    )
    .unwrap();
    let set = |extra: &[&str]| {
        let mut args = words("gate set e2e pending --environment environment/dev");
        args.extend_from_slice(extra);
        let assert = world.promoter(&args);
        let (_, stderr) = output(&assert);
        (assert.get_output().status.code(), stderr)
    };
    let (code, stderr) = set(&["--proposed"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("several strategies (`web`, `api`)"),
        "{stderr}"
    );
    // With the strategy, its own staging branch is looked up (the hydrator has not pushed it).
    let (code, stderr) = set(&["--proposed", "--strategy", "api"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("branch `environment/dev-next/apps/api` does not exist"),
        "{stderr}"
    );
    // The live tip is the same for both: no strategy needed.
    let (code, stderr) = set(&[]);
    assert_eq!(code, Some(0), "{stderr}");
}
