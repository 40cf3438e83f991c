//! The dashboard issue end to end (docs/insight.md "Dashboard"): the real binary against each
//! forge dialect of the sandbox. Written once, then only read while nothing changes, updated on
//! a change; found again by its marker after a restart (never a second one, whatever other
//! issues exist); a hostile DRY commit subject made inert; a dashboard the forge refuses is a
//! warning, not a failed pass; `--dry-run` and `status` do not touch it.

use sandbox::{Fault, Hydration, IssueRecord};

use super::{Forge, NAME, OWNER, World, output};

const MARKER: &str = "<!-- promoter-dashboard:v1 -->";

fn no_extra(_: usize) -> String {
    String::new()
}

/// promotion.yaml with the dashboard on.
fn config_with_dashboard(world: &World, dashboard: &str) {
    let path = world.config("", &no_extra);
    let mut text = std::fs::read_to_string(&path).expect("config");
    text.push_str(dashboard);
    std::fs::write(&path, text).expect("config");
}

/// Issue requests since the last clear, as `METHOD` (list `GET`, create `POST`, update
/// `PATCH`/`PUT`).
fn issue_requests(world: &World) -> Vec<String> {
    world
        .api_requests()
        .into_iter()
        .filter(|r| r.contains("/issues"))
        .map(|r| r.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

fn update_method(forge: Forge) -> &'static str {
    match forge {
        Forge::Gitlab | Forge::Bitbucket => "PUT",
        _ => "PATCH",
    }
}

fn dashboards(world: &World) -> Vec<IssueRecord> {
    world
        .sandbox
        .issues(OWNER, NAME)
        .expect("issues")
        .into_iter()
        .filter(|issue| issue.body.starts_with(MARKER))
        .collect()
}

/// Reconciles until a pass writes nothing but the dashboard; returns how many passes ran.
fn settle(world: &World) -> usize {
    for pass in 1..=5 {
        world.clear();
        world.reconcile().success();
        let writes: Vec<String> = world
            .writes()
            .into_iter()
            .filter(|w| !w.contains("/issues"))
            .collect();
        if writes.is_empty() {
            return pass;
        }
    }
    panic!("no steady state after 5 passes");
}

fn dashboard_is_written_once_then_only_read_then_updated_on_change(forge: Forge) {
    if !forge.has_issues() {
        return a_forge_without_issues_refuses_the_dashboard_in_the_config(forge);
    }
    let mut world = World::new(forge, &["dev", "prod"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    config_with_dashboard(
        &world,
        "dashboard:\n  enabled: true\n  title: Deploys of acme\n",
    );

    // `--dry-run` and `status` never touch the dashboard.
    world.clear();
    world.promoter(&["reconcile", "--dry-run"]).success();
    world.promoter(&["status"]).success();
    assert_eq!(issue_requests(&world), Vec::<String>::new());
    assert!(dashboards(&world).is_empty());

    world.clear();
    let first = world.reconcile().success();
    let (stdout, _) = output(&first);
    assert_eq!(
        issue_requests(&world),
        ["GET", "POST"],
        "first pass: 1 list + 1 create"
    );
    assert!(stdout.contains("dashboard: opened issue"), "{stdout}");
    let written = dashboards(&world);
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].title, "Deploys of acme");
    assert!(
        written[0].body.contains("environment/prod"),
        "{}",
        written[0].body
    );

    settle(&world);
    // Steady state: one list, no write of any kind.
    world.clear();
    let steady = world.reconcile().success();
    assert_eq!(
        issue_requests(&world),
        ["GET"],
        "unchanged: 1 list, 0 writes"
    );
    assert_eq!(world.writes(), Vec::<String>::new());
    assert_eq!(world.api().total(), 1, "{:?}", world.api());
    assert!(
        output(&steady).0.contains("unchanged"),
        "{}",
        output(&steady).0
    );

    // A change: one list and one update of the same issue.
    let b = world.dry_change("change B");
    world.hydrate_all(&b);
    world.clear();
    world.reconcile().success();
    assert_eq!(
        issue_requests(&world),
        ["GET", update_method(forge)],
        "a change: 1 list + 1 update"
    );
    let after = dashboards(&world);
    assert_eq!(after.len(), 1, "never a second dashboard");
    assert_eq!(after[0].number, written[0].number);
    assert!(after[0].body.contains(b.short()), "{}", after[0].body);
    assert_ne!(after[0].body, written[0].body);
}

fn dashboard_is_found_again_after_a_restart_and_never_duplicated(forge: Forge) {
    if !forge.has_issues() {
        return a_forge_without_issues_refuses_the_dashboard_in_the_config(forge);
    }
    let mut world = World::new(forge, &["dev"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    // Issues without the marker are not the dashboard, whatever their title.
    world
        .sandbox
        .open_issue_as("alice", OWNER, NAME, "Promotion dashboard", "my own notes")
        .expect("issue");
    world
        .sandbox
        .open_issue_as(
            "alice",
            OWNER,
            NAME,
            "Quote",
            &format!("the dashboard starts with `{MARKER}`"),
        )
        .expect("issue");
    config_with_dashboard(&world, "dashboard:\n  enabled: true\n");
    world.reconcile().success();
    let first = dashboards(&world);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].title, "Promotion dashboard");

    // A restart: a new process with an empty cache finds the same issue and leaves it alone.
    std::fs::remove_dir_all(world.dir.path().join("cache")).expect("drop the cache");
    world.clear();
    let again = world.reconcile().success();
    assert_eq!(issue_requests(&world), ["GET"], "{}", output(&again).0);
    assert_eq!(dashboards(&world).len(), 1);
    let all = world.sandbox.issues(OWNER, NAME).expect("issues");
    assert_eq!(all.len(), 3);
    assert_eq!(
        all[0].body, "my own notes",
        "another issue is never touched"
    );

    // A `--strategy` pass shows part of the repository: the dashboard is left alone.
    world.clear();
    let partial = world
        .promoter(&["reconcile", "--strategy", "app", "--output", "json"])
        .success();
    assert_eq!(issue_requests(&world), Vec::<String>::new());
    let json: serde_json::Value = serde_json::from_str(&output(&partial).0).expect("json");
    assert_eq!(json["dashboard"]["result"], "skipped", "{json}");

    // A new title renames the same issue.
    config_with_dashboard(
        &world,
        "dashboard:\n  enabled: true\n  title: Where deploys are\n",
    );
    world.clear();
    world.reconcile().success();
    assert_eq!(issue_requests(&world), ["GET", update_method(forge)]);
    let renamed = dashboards(&world);
    assert_eq!(renamed.len(), 1);
    assert_eq!(
        (renamed[0].number, renamed[0].title.as_str()),
        (first[0].number, "Where deploys are")
    );

    // Closed by a person: the next pass opens a new one.
    world
        .sandbox
        .close_issue(OWNER, NAME, first[0].number)
        .expect("close");
    world.clear();
    world.reconcile().success();
    assert_eq!(issue_requests(&world), ["GET", "POST"]);
    assert_eq!(
        dashboards(&world).len(),
        2,
        "the closed one and the new one"
    );
}

fn a_hostile_commit_subject_is_inert_in_the_issue(forge: Forge) {
    if !forge.has_issues() {
        return a_forge_without_issues_refuses_the_dashboard_in_the_config(forge);
    }
    let mut world = World::new(forge, &["dev", "prod"]);
    let hostile = "<img src=x onerror=alert(1)> @admin [x](https://evil.test) | `y`";
    let dry = world.dry_change(hostile);
    for env in 0..2 {
        world
            .sandbox
            .hydrate(
                OWNER,
                NAME,
                &Hydration::new(&world.envs[env], &dry)
                    .file("manifest.yaml", &format!("env: {env}\n"))
                    .subject(hostile),
            )
            .expect("hydrate");
    }
    config_with_dashboard(&world, "dashboard:\n  enabled: true\n");
    world.reconcile().success();
    let body = dashboards(&world).pop().expect("a dashboard").body;
    // The subject only as a code span: fenced with one backtick more than its own, padded since
    // it ends with one, the cell pipe escaped.
    let span = "`` <img src=x onerror=alert(1)> @admin [x](https://evil.test) \\| `y` ``";
    assert!(body.contains(span), "{body}");
    assert_eq!(
        body.matches("<img").count(),
        body.matches(span).count(),
        "{body}"
    );
    assert_eq!(
        body.matches("](https://evil").count(),
        body.matches(span).count(),
        "no link but inside the span: {body}"
    );
}

fn a_dashboard_the_forge_refuses_is_a_warning_not_a_failure(forge: Forge) {
    if !forge.has_issues() {
        return a_forge_without_issues_refuses_the_dashboard_in_the_config(forge);
    }
    let mut world = World::new(forge, &["dev"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    config_with_dashboard(&world, "dashboard:\n  enabled: true\n");
    let glob = format!("{}{}/issues", forge.prefix(), forge.repo());
    world.sandbox.inject(
        Fault::new("POST", &glob)
            .status(403)
            .body(r#"{"message":"Resource not accessible by integration"}"#),
    );
    let pass = world
        .command(&["reconcile", "--output", "json"], super::TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success();
    let (stdout, stderr) = output(&pass);
    assert!(
        stderr.contains("warning: the dashboard issue was not written"),
        "{stderr}"
    );
    // In GitHub Actions also an annotation, on stderr since stdout carries the JSON.
    assert!(
        stderr.contains("::warning title=promoter%3A dashboard not written::"),
        "{stderr}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(json["dashboard"]["result"], "failed", "{json}");
    assert_eq!(
        world.live_dry(0).as_deref(),
        Some(a.as_str()),
        "the promotion went on"
    );
    assert!(dashboards(&world).is_empty());
}

/// Azure Repos has no issues: a dashboard asked for is refused in promotion.yaml, where it is
/// written (exit 2, file:line:column), before any request.
#[test]
fn azure_devops_refuses_the_dashboard_in_the_config() {
    a_forge_without_issues_refuses_the_dashboard_in_the_config(Forge::AzureDevops);
}

/// A forge without issues (Azure DevOps; Bitbucket Data Center, whose issues live in Jira):
/// `dashboard.enabled: true` is a configuration error naming the line, with nothing sent.
fn a_forge_without_issues_refuses_the_dashboard_in_the_config(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let a = world.dry_change("change A");
    world.hydrate_all(&a);
    config_with_dashboard(&world, "dashboard:\n  enabled: true\n");
    world.clear();
    let (_, stderr) = output(&world.reconcile().code(2));
    assert!(
        stderr.contains("dashboard.enabled") && stderr.contains("has no issues"),
        "{stderr}"
    );
    assert!(
        stderr.contains("promotion.yaml:"),
        "names the file and line: {stderr}"
    );
    assert_eq!(world.sandbox.requests().len(), 0, "nothing was sent");
    assert_ne!(
        world.live_dry(0).as_deref(),
        Some(a.as_str()),
        "nothing was promoted"
    );
}

per_forge!(
    without azure_devops:
    dashboard_is_written_once_then_only_read_then_updated_on_change,
    dashboard_is_found_again_after_a_restart_and_never_duplicated,
    a_hostile_commit_subject_is_inert_in_the_issue,
    a_dashboard_the_forge_refuses_is_a_warning_not_a_failure,
);
