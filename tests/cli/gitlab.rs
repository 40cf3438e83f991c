//! `provider: gitlab` end to end: the real binary against the sandbox forge's GitLab dialect
//! (`/api/v4`), a project in a nested group cloned over smart HTTP, three environments with an
//! active `health` gate promoted over passes; the GitLab CI defaults (`CI_API_V4_URL`,
//! `CI_PROJECT_PATH`, `CI_SERVER_URL`, `GITLAB_TOKEN`) through the example job's own command line;
//! and a wrong token failing without showing it.

use std::path::{Path, PathBuf};

use sandbox::{PullState, Sha};

use crate::reconcile::{Forge, NAME, TOKEN, World};

const OWNER: &str = "acme/platform";

/// The shared world with `acme/platform/deploy` and a DRY commit hydrated into three
/// environments.
fn project() -> (World, Sha) {
    let mut world = World::in_namespace(Forge::Gitlab, OWNER, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    (world, dry)
}

/// promotion.yaml: `scm`/`repository` as given, then one strategy with an active `health` gate
/// over the three environments.
fn config(world: &World, scm: &str) -> PathBuf {
    let mut text = scm.to_owned();
    text.push_str("strategies:\n  - name: app\n    activeCommitStatuses:\n      - key: health\n    environments:\n");
    for env in &world.envs {
        text.push_str(&format!("      - branch: {env}\n"));
    }
    let path = world.dir.path().join("promotion.yaml");
    std::fs::write(&path, text).unwrap();
    path
}

fn explicit_config(world: &World) -> PathBuf {
    config(
        world,
        &format!(
            "scm:\n  provider: gitlab\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n",
            world.sandbox.gitlab_api_url()
        ),
    )
}

/// The newest `promoter-previous-environment` state on environment `env`'s staging tip.
fn previous_gate(world: &World, env: usize) -> Option<String> {
    world.previous_gate(env).map(|(state, _)| state)
}

/// CI reports `health` = success on environment `env`'s live tip.
fn healthy(world: &World, env: usize) {
    world.report(&world.live_tip(env), "health", "success");
}

fn stdout(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

fn output_of(assert: &assert_cmd::assert::Assert) -> String {
    let output = assert.get_output();
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn three_environments_with_a_health_gate_promote_over_passes_through_gitlab_merge_requests() {
    let (project, dry) = project();
    explicit_config(&project);

    // Pass 1: dev merges; staging waits for dev's health; prod waits for staging.
    let first = project.promoter_with_token(&["reconcile"], TOKEN).success();
    assert_eq!(
        project.live_dry(0).as_deref(),
        Some(dry.as_str()),
        "{}",
        stdout(&first)
    );
    assert_ne!(project.live_dry(1).as_deref(), Some(dry.as_str()));
    assert_eq!(previous_gate(&project, 1).as_deref(), Some("pending"));
    assert_eq!(previous_gate(&project, 2).as_deref(), Some("pending"));
    let mrs = project.sandbox.pulls(OWNER, NAME).unwrap();
    assert_eq!(mrs.len(), 3, "one merge request per environment");

    // Pass 2: dev is healthy, staging merges; prod's gate stays pending (a repeat GitLab refuses
    // with 400 "Cannot transition status", which is not an error).
    healthy(&project, 0);
    project.sandbox.clear_requests();
    project.promoter_with_token(&["reconcile"], TOKEN).success();
    assert_eq!(project.live_dry(1).as_deref(), Some(dry.as_str()));
    assert_eq!(previous_gate(&project, 1).as_deref(), Some("success"));
    assert_ne!(project.live_dry(2).as_deref(), Some(dry.as_str()));
    assert_eq!(previous_gate(&project, 2).as_deref(), Some("pending"));
    let status_writes: Vec<(String, u16)> = project
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.contains("/statuses/"))
        .map(|r| (r.path.rsplit('/').next().unwrap().to_owned(), r.status))
        .collect();
    let staging_next = project.tip("environment/staging-next").to_string();
    assert_eq!(
        status_writes,
        [(staging_next, 201)],
        "staging's gate turns success; prod's pending gate keeps its first description and is \
         not re-posted (GitLab would refuse it)"
    );
    // Every API call went to the GitLab dialect with the project path encoded, as the token's
    // user (the sandbox reads the `PRIVATE-TOKEN` header).
    assert!(
        project
            .sandbox
            .requests()
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .all(|r| r
                .path
                .starts_with("/api/v4/projects/acme%2Fplatform%2Fdeploy/")
                && r.caller.as_deref() == Some(sandbox::DEFAULT_USER)),
        "{:#?}",
        project.sandbox.requests()
    );

    // Pass 3: staging is healthy, prod merges.
    healthy(&project, 1);
    project.promoter_with_token(&["reconcile"], TOKEN).success();
    for env in 0..3 {
        assert_eq!(
            project.live_dry(env).as_deref(),
            Some(dry.as_str()),
            "env {env}"
        );
        let tip = project.tip(&project.envs[env]);
        assert_eq!(project.sandbox.parents(OWNER, NAME, &tip).unwrap().len(), 2);
        let message = project.sandbox.commit_message(OWNER, NAME, &tip).unwrap();
        assert!(
            message.contains("Pull-request-url: ")
                && message.contains("/acme/platform/deploy/-/merge_requests/"),
            "{message}"
        );
    }
    assert_eq!(previous_gate(&project, 2).as_deref(), Some("success"));
    let mrs = project.sandbox.pulls(OWNER, NAME).unwrap();
    assert!(
        mrs.iter()
            .all(|mr| mr.state == PullState::Closed && mr.merged.is_some()),
        "{mrs:#?}"
    );
    // The staging branches stay (should_remove_source_branch: false).
    for env in &project.envs {
        assert!(
            project
                .sandbox
                .branch_tip(OWNER, NAME, &format!("{env}-next"))
                .unwrap()
                .is_some()
        );
    }

    // A pass over the finished world writes nothing.
    project.sandbox.clear_requests();
    project.promoter_with_token(&["reconcile"], TOKEN).success();
    let writes: Vec<String> = project
        .sandbox
        .requests()
        .into_iter()
        .filter(|r| r.method != "GET" && r.path.starts_with("/api/"))
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(writes, Vec::<String>::new());
}

/// The `promoter reconcile …` line of examples/gitlab-ci.yml, split into arguments.
fn example_job_arguments() -> Vec<String> {
    let text =
        std::fs::read_to_string(crate::support::root().join("examples/gitlab-ci.yml")).unwrap();
    let ci: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
    let line = ci["promoter"]["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.starts_with("promoter reconcile"))
        .unwrap()
        .to_owned();
    line.split_whitespace().skip(1).map(str::to_owned).collect()
}

fn ci_job(project: &World, workdir: &Path) -> assert_cmd::Command {
    let mut command = crate::support::promoter();
    command
        .current_dir(workdir)
        .args(example_job_arguments())
        .env("HOME", project.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GITLAB_CI", "true")
        .env("CI_API_V4_URL", project.sandbox.gitlab_api_url())
        .env("CI_SERVER_URL", project.sandbox.base_url())
        .env("CI_PROJECT_PATH", format!("{OWNER}/{NAME}"))
        .env("CI_PROJECT_DIR", workdir)
        .env("PROMOTER_CACHE_DIR", workdir.join(".promoter-cache"));
    command
}

#[test]
fn the_example_gitlab_job_works_from_ci_variables_and_gitlab_token_alone() {
    let (project, dry) = project();
    config(&project, "scm:\n  provider: gitlab\n");
    let workdir = project.dir.path();
    let run = ci_job(&project, workdir)
        .env("GITLAB_TOKEN", TOKEN)
        .assert()
        .success();
    assert_eq!(
        project.live_dry(0).as_deref(),
        Some(dry.as_str()),
        "{}",
        output_of(&run)
    );
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workdir.join("promoter-report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(report["repository"], "acme/platform/deploy");
    assert_eq!(
        report["webUrl"],
        format!("{}/acme/platform/deploy", project.sandbox.base_url())
    );

    // PROMOTER_TOKEN wins over a wrong GITLAB_TOKEN.
    ci_job(&project, workdir)
        .env("GITLAB_TOKEN", "glpat-stale")
        .env("PROMOTER_TOKEN", TOKEN)
        .assert()
        .success();
}

#[test]
fn a_wrong_gitlab_token_fails_the_pass_and_is_never_shown() {
    let (project, _) = project();
    explicit_config(&project);
    let wrong = "glpat-wrong-and-secret";
    let run = project.promoter_with_token(&["reconcile"], wrong).failure();
    let text = output_of(&run);
    assert!(!text.contains(wrong), "{text}");
    assert!(text.contains("authentication failed"), "{text}");
    assert_eq!(project.sandbox.pulls(OWNER, NAME).unwrap().len(), 0);
}
