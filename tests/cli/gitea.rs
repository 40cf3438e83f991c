//! `provider: gitea` and `provider: forgejo` end to end: the real binary against the sandbox
//! forge's Gitea dialect (`/api/v1`) over real bare repositories, the clone URL derived from
//! `apiUrl`. Three environments with an active `health` gate promote over passes with merge
//! commits; a wrong token fails without showing it; the Gitea/Forgejo Actions workflow's command
//! runs as written.

use std::path::{Path, PathBuf};

use sandbox::{GiteaFlavor, PullState};

use crate::reconcile::{Forge, NAME, OWNER, TOKEN, World};
use crate::support::root;

const WORKFLOW: &str = "examples/gitea-workflow.yml";

/// The shared world on the Gitea dialect in `flavor`, three environments, with a DRY change
/// hydrated for each; returns the DRY SHA.
fn gitea_world(flavor: GiteaFlavor) -> (World, String) {
    let forge = match flavor {
        GiteaFlavor::Forgejo => Forge::Forgejo,
        _ => Forge::Gitea,
    };
    let mut world = World::new(forge, &["dev", "staging", "prod"]);
    world.sandbox.set_gitea_flavor(flavor);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    (world, dry.as_str().to_owned())
}

/// promotion.yaml in `dir` for `provider`, with only `apiUrl` pointing at the forge (the clone URL
/// is derived from it: `<base>/api/v1` → `<base>/acme/deploy.git`).
fn config_in(world: &World, dir: &Path, provider: &str) -> PathBuf {
    let mut text = format!(
        "scm:\n  provider: {provider}\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\nstrategies:\n  - name: app\n    activeCommitStatuses:\n      - key: health\n    environments:\n",
        world.sandbox.gitea_api_url()
    );
    for env in &world.envs {
        text.push_str(&format!("      - branch: {env}\n"));
    }
    let path = dir.join("promotion.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

/// [`World::command`] with the token in `token_var` instead of `PROMOTER_TOKEN`.
fn command(world: &World, args: &[&str], token_var: &str, token: &str) -> assert_cmd::Command {
    let mut process = world.process(args, token);
    process.env_remove("PROMOTER_TOKEN").env(token_var, token);
    assert_cmd::Command::from_std(process)
}

fn report_health(world: &World, env: usize) {
    world.report(&world.live_tip(env), "health", "success");
}

/// The live tip of `env` is a merge commit whose second parent is the staging tip.
fn assert_merged_with_a_merge_commit(world: &World, env: usize) {
    let parents = world
        .sandbox
        .parents(OWNER, NAME, &world.live_tip(env))
        .unwrap();
    assert_eq!(parents.len(), 2, "{} has a merge commit", world.envs[env]);
    assert_eq!(parents[1], world.staging_tip(env));
}

/// Every API request went to the Gitea dialect; none to GitHub's.
fn assert_only_gitea_api(world: &World) {
    let api: Vec<String> = world
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/"))
        .map(|r| r.path)
        .collect();
    assert!(!api.is_empty());
    assert!(api.iter().all(|p| p.starts_with("/api/v1/")), "{api:?}");
}

fn text(assert: &assert_cmd::assert::Assert) -> String {
    let out = assert.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Three passes: each merges one environment once the previous one's live tip is healthy.
fn promote_three_environments(flavor: GiteaFlavor, provider: &str, token_var: &str) {
    let (world, dry) = gitea_world(flavor);
    config_in(&world, world.dir.path(), provider);

    let out = text(
        &command(&world, &["reconcile"], token_var, TOKEN)
            .assert()
            .success(),
    );
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{out}");
    assert_eq!(world.live_dry(1), None, "{out}");
    assert_merged_with_a_merge_commit(&world, 0);
    assert_eq!(
        world.previous_gate(1),
        Some((
            "pending".to_owned(),
            "Waiting for `health` on `environment/dev`".to_owned()
        ))
    );
    let message = world
        .sandbox
        .commit_message(OWNER, NAME, &world.live_tip(0))
        .unwrap();
    assert!(
        message.contains(dry.as_str()),
        "the merge text names the DRY SHA: {message}"
    );

    report_health(&world, 0);
    let out = text(
        &command(&world, &["reconcile"], token_var, TOKEN)
            .assert()
            .success(),
    );
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()), "{out}");
    assert_eq!(world.live_dry(2), None, "{out}");
    assert_merged_with_a_merge_commit(&world, 1);

    report_health(&world, 1);
    let out = text(
        &command(&world, &["reconcile"], token_var, TOKEN)
            .assert()
            .success(),
    );
    assert_eq!(world.live_dry(2).as_deref(), Some(dry.as_str()), "{out}");
    assert_merged_with_a_merge_commit(&world, 2);
    assert_eq!(
        world.previous_gate(2).map(|(state, _)| state).as_deref(),
        Some("success")
    );

    let pulls = world.sandbox.pulls(OWNER, NAME).unwrap();
    assert_eq!(pulls.len(), 3, "one PR per environment");
    assert!(
        pulls
            .iter()
            .all(|p| p.state == PullState::Closed && p.merged.is_some())
    );
    assert_only_gitea_api(&world);
}

#[test]
fn gitea_promotes_three_environments_behind_a_health_gate_with_merge_commits() {
    promote_three_environments(GiteaFlavor::GiteaRelease, "gitea", "GITEA_TOKEN");
}

#[test]
fn gitea_main_with_renamed_merge_fields_promotes_the_same_way() {
    promote_three_environments(GiteaFlavor::GiteaMain, "gitea", "PROMOTER_TOKEN");
}

#[test]
fn forgejo_promotes_three_environments_behind_a_health_gate_with_merge_commits() {
    promote_three_environments(GiteaFlavor::Forgejo, "forgejo", "FORGEJO_TOKEN");
}

#[test]
fn a_wrong_token_fails_non_zero_and_is_shown_nowhere() {
    for (flavor, provider) in [
        (GiteaFlavor::GiteaRelease, "gitea"),
        (GiteaFlavor::Forgejo, "forgejo"),
    ] {
        let (world, _) = gitea_world(flavor);
        config_in(&world, world.dir.path(), provider);
        let wrong = "wrong-token-0f9e8d7c6b5a";
        let assert = command(&world, &["reconcile"], "PROMOTER_TOKEN", wrong)
            .assert()
            .failure();
        let out = text(&assert);
        assert!(!out.contains(wrong), "{provider}: {out}");
        // The git fetch comes first in a pass, and the forge refuses it.
        assert!(
            out.contains("authentication failed") && out.contains("hint: check that"),
            "{provider}: {out}"
        );
        assert_eq!(world.live_dry(0), None);
        assert!(
            world
                .sandbox
                .requests()
                .iter()
                .all(|r| !r.query.contains(wrong)),
            "the token never goes into a URL"
        );
    }
}

#[test]
fn the_actions_workflow_runs_reconcile_with_the_token_from_a_secret() {
    let workflow: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(root().join(WORKFLOW)).unwrap()).unwrap();
    let on = &workflow["on"];
    assert!(on["schedule"][0]["cron"].is_string(), "scheduled");
    assert!(on["workflow_dispatch"].is_null() || on["workflow_dispatch"].is_mapping());
    let steps = workflow["jobs"]["promote"]["steps"].as_sequence().unwrap();
    let install = steps
        .iter()
        .find(|s| s["name"] == "Install promoter")
        .unwrap();
    assert!(
        install["run"]
            .as_str()
            .unwrap()
            .contains("sha256sum --check"),
        "the release is checked before use"
    );
    let step = steps.iter().find(|s| s["name"] == "Reconcile").unwrap();
    assert_eq!(
        step["env"]["PROMOTER_TOKEN"],
        "${{ secrets.PROMOTER_TOKEN }}"
    );
    let run = step["run"].as_str().unwrap();
    assert!(!run.contains("secrets."), "no token on the command line");

    // The step's command, as written, run in a checkout holding promotion.yaml.
    let (world, dry) = gitea_world(GiteaFlavor::Forgejo);
    let checkout = world.dir.path().join("checkout");
    std::fs::create_dir_all(&checkout).unwrap();
    config_in(&world, &checkout, "forgejo");
    let words: Vec<&str> = run.split_whitespace().collect();
    assert_eq!(words[0], "promoter");
    let out = text(
        &crate::support::promoter()
            .args(&words[1..])
            .arg("--cache-dir")
            .arg(world.dir.path().join("cache"))
            .current_dir(&checkout)
            .env("PROMOTER_TOKEN", TOKEN)
            .env("HOME", world.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .assert()
            .success(),
    );
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{out}");
    let report = std::fs::read_to_string(checkout.join("promoter-report.json")).unwrap();
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(report.is_object(), "{report}");
}

#[test]
fn the_promotion_yaml_in_docs_gitea_md_validates() {
    let doc = std::fs::read_to_string(root().join("docs/gitea.md")).unwrap();
    let yaml = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a yaml block in docs/gitea.md");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("promotion.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = text(
        &crate::support::promoter()
            .args(["validate", "-c"])
            .arg(&path)
            .env("GITEA_TOKEN", "doc-token")
            .assert()
            .success(),
    );
    assert!(out.contains("https://gitea.example.com/api/v1"), "{out}");
    assert!(
        out.contains("https://gitea.example.com/acme/deploy.git"),
        "{out}"
    );
    assert!(!out.contains("doc-token"), "{out}");
}
