//! Bitbucket Cloud beyond the per-forge suite: `scm.usernameEnv` (an app password or API token
//! sent as HTTP Basic with its user) end to end against the sandbox's Bitbucket dialect, and the
//! example pipeline.

use std::fs;

use crate::reconcile::{Forge, World, output};
use crate::support::root;

const PIPELINE: &str = "examples/bitbucket-pipelines.yml";

/// A world on the Bitbucket dialect whose config reads the user name from `BB_USER`.
fn world_with_username_env() -> World {
    let mut world = World::new(Forge::Bitbucket, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    let config = world.config("", &|_| String::new());
    let text = fs::read_to_string(&config).unwrap().replace(
        "provider: bitbucket\n",
        "provider: bitbucket\n  usernameEnv: BB_USER\n",
    );
    fs::write(&config, text).unwrap();
    world
}

#[test]
fn a_user_name_from_username_env_authenticates_the_token_as_basic_and_promotes() {
    let world = world_with_username_env();
    // The sandbox's token owner; Bitbucket checks that the password belongs to the user named.
    let assert = world
        .command(&["reconcile"], crate::reconcile::TOKEN)
        .env("BB_USER", sandbox::DEFAULT_USER)
        .assert();
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(0),
        "{stdout}{stderr}"
    );
    assert!(world.live_dry(0).is_some(), "{stdout}{stderr}");
    let api: Vec<_> = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/2.0/"))
        .collect();
    assert!(!api.is_empty());
    for request in &api {
        assert_eq!(
            request.caller.as_deref(),
            Some(sandbox::DEFAULT_USER),
            "{request:?}"
        );
    }
}

#[test]
fn a_wrong_user_name_is_refused_with_a_hint_and_an_unset_one_stops_the_run() {
    let world = world_with_username_env();
    let assert = world
        .command(&["reconcile"], crate::reconcile::TOKEN)
        .env("BB_USER", "mallory")
        .assert();
    let (stdout, stderr) = output(&assert);
    assert_eq!(
        assert.get_output().status.code(),
        Some(1),
        "{stdout}{stderr}"
    );
    let all = format!("{stdout}{stderr}");
    assert!(
        all.contains("401") && all.contains("scm.usernameEnv"),
        "{all}"
    );
    assert!(!all.contains(crate::reconcile::TOKEN), "{all}");
    assert_eq!(world.live_dry(0), None);

    world.clear();
    let assert = world
        .command(&["reconcile"], crate::reconcile::TOKEN)
        .assert();
    let (stdout, stderr) = output(&assert);
    assert_ne!(
        assert.get_output().status.code(),
        Some(0),
        "{stdout}{stderr}"
    );
    assert!(
        stderr.contains("scm.usernameEnv names `BB_USER`, which is not set"),
        "{stdout}{stderr}"
    );
    assert!(
        world.api_requests().is_empty(),
        "nothing is sent without the user name"
    );
}

#[test]
fn the_example_pipeline_reconciles_from_a_custom_pipeline_and_keeps_cache_and_report() {
    let text = fs::read_to_string(root().join(PIPELINE)).unwrap();
    let pipeline: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let steps = pipeline["pipelines"]["custom"]["promoter"]
        .as_sequence()
        .expect("a custom pipeline `promoter` (what a schedule runs)");
    let step = &steps[0]["step"];
    let script: Vec<&str> = step["script"]
        .as_sequence()
        .expect("script")
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let reconcile = script
        .iter()
        .find(|line| line.starts_with("promoter reconcile"))
        .unwrap_or_else(|| panic!("no `promoter reconcile` line in {script:?}"));
    assert!(
        reconcile.contains("--report-file promoter-report.json"),
        "{reconcile}"
    );
    assert!(
        step["artifacts"]
            .as_sequence()
            .unwrap()
            .iter()
            .any(|p| p == "promoter-report.json")
    );
    // The git cache is a custom cache under the clone directory, where PROMOTER_CACHE_DIR points.
    let cache = pipeline["definitions"]["caches"]["promoter"]
        .as_str()
        .unwrap();
    assert!(
        script
            .iter()
            .any(|line| *line
                == format!("export PROMOTER_CACHE_DIR=\"$BITBUCKET_CLONE_DIR/{cache}\""))
    );
    assert_eq!(step["caches"][0], "promoter");
    // Release archives are checked before use, and the token is never pasted into the file.
    assert!(text.contains("sha256sum --check"), "checksum not verified");
    assert!(text.contains("PROMOTER_TOKEN"));
    assert!(!text.contains("$PROMOTER_TOKEN") && !text.contains("${PROMOTER_TOKEN}"));
}

#[test]
fn validate_names_the_user_variable_and_warns_when_it_is_unset() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("promotion.yaml");
    fs::write(
        &config,
        "scm:\n  provider: bitbucket\n  usernameEnv: BB_USER\nrepository:\n  owner: acme\n  name: deploy\nstrategies:\n  - name: app\n    environments:\n      - branch: environment/dev\n",
    )
    .unwrap();
    let run = |user: Option<&str>| {
        let mut command = crate::support::promoter_process();
        command
            .args(["validate", "-c"])
            .arg(&config)
            .env_remove("BB_USER")
            .env("BITBUCKET_TOKEN", "bb-token-value-0123456789");
        if let Some(user) = user {
            command.env("BB_USER", user);
        }
        let out = command.output().unwrap();
        assert!(out.status.success());
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (stdout, stderr) = run(None);
    assert!(
        stdout.contains("auth:       token from $PROMOTER_TOKEN, else $BITBUCKET_TOKEN, as the password of user $BB_USER"),
        "{stdout}"
    );
    assert!(
        stdout.contains("clone url:  https://bitbucket.org/acme/deploy.git"),
        "{stdout}"
    );
    assert!(
        stderr.contains("BB_USER (scm.usernameEnv) is not set"),
        "{stderr}"
    );
    let (_, stderr) = run(Some("alice"));
    assert!(!stderr.contains("usernameEnv"), "{stderr}");
}
