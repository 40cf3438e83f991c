//! Computed gates (issue 15, docs/gates.md) end to end: a `gates:` entry listed as a proposed gate
//! is computed in the pass, written as a commit status on the staging tip only when it changes,
//! shown with its reason in the report and the PR body, and holds the merge until success.

use std::io::Write;

use sandbox::CommitSpec;

use super::{Forge, NAME, OWNER, World, output};

/// `gates:` appended to the world's promotion.yaml, with `proposed` as proposed gates.
fn with_gates(world: &World, proposed: &[&str], gates: &str) {
    let list: String = proposed
        .iter()
        .map(|key| format!("      - key: {key}\n"))
        .collect();
    config_with_gates(
        world,
        &format!("    proposedCommitStatuses:\n{list}"),
        &format!("gates:\n{gates}"),
    );
}

const TICKET_RULE: &str = "  - key: ticket-referenced\n    commit:\n      expression: 'commit.trailers[\"Ticket\"] is defined and commit.author.endswith(\"@sandbox.invalid\")'\n      description: a Ticket trailer by a sandbox author\n  - key: business-hours\n    schedule: {}\n";

fn a_commit_rule_holds_the_merge_until_the_staging_tip_carries_a_ticket_trailer(forge: Forge) {
    let mut world = World::new(forge, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    with_gates(
        &world,
        &["ticket-referenced", "business-hours"],
        TICKET_RULE,
    );

    // Pass 1: the PR opens; the rule fails on the staging tip (no trailer); the window is open.
    let (stdout, _) = output(&world.reconcile().success());
    let tip = world.staging_tip(0);
    let (state, description) = world.status(&tip, "ticket-referenced").expect("written");
    assert_eq!(state, "failure", "{stdout}");
    assert_eq!(
        description,
        format!("{} fails a Ticket trailer by a sandbox author", tip.short())
    );
    let (state, description) = world.status(&tip, "business-hours").expect("written");
    assert_eq!(state, "success");
    assert_eq!(description, "open: no window excludes now");
    assert_eq!(world.live_dry(0), None, "not merged: {stdout}");
    assert!(
        stdout.contains("ticket-referenced: ") && stdout.contains("fails a Ticket trailer"),
        "the report gives the reason: {stdout}"
    );
    let pr = &world.open_pulls_of(0)[0];
    assert!(
        pr.body.contains("| `ticket-referenced` | failure |"),
        "the PR body shows the gate: {}",
        pr.body
    );

    // Pass 2, nothing changed: no write at all (statuses are written only on change).
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());

    // The hydrator's next commit on the staging branch carries the trailer: success, merged.
    world
        .sandbox
        .commit(
            OWNER,
            NAME,
            &world.staging(0),
            &CommitSpec::new("Hydrate again\n\nTicket: PAY-12\n").file("extra.yaml", "x: 1\n"),
        )
        .expect("commit with a trailer");
    world.clear();
    let (stdout, _) = output(&world.reconcile().success());
    let tip = world.staging_tip(0);
    assert_eq!(
        world
            .status(&tip, "ticket-referenced")
            .map(|s| s.0)
            .as_deref(),
        Some("success"),
        "{stdout}"
    );
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
}

#[test]
fn a_closed_deployment_window_keeps_the_promotion_pending_and_says_until_when() {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    // Each new year starts ten years of freeze: closed now, and the end named is the same on
    // every pass (the status is not rewritten).
    with_gates(
        &world,
        &["freeze"],
        "  - key: freeze\n    schedule:\n      timezone: Europe/Berlin\n      exclude: [{cron: \"0 0 1 1 *\", duration: 3660d, description: change freeze}]\n",
    );
    let (stdout, _) = output(&world.reconcile().success());
    let (state, description) = world
        .status(&world.staging_tip(0), "freeze")
        .expect("written");
    assert_eq!(state, "pending");
    assert!(
        description.starts_with("closed by `change freeze` until ")
            && description.ends_with("(Europe/Berlin)"),
        "{description}"
    );
    assert_eq!(world.live_dry(0), None);
    assert!(stdout.contains("closed by `change freeze`"), "{stdout}");
    let pr = &world.open_pulls_of(0)[0];
    assert!(
        // Escaped as any text shown in Markdown is (`untrusted::markdown`).
        pr.body
            .contains("| `freeze` | pending | closed by \\`change freeze\\` until "),
        "{}",
        pr.body
    );
    world.clear();
    world.reconcile().success();
    assert_eq!(world.writes(), Vec::<String>::new());
}

#[test]
fn a_commit_rule_with_target_active_judges_the_live_commit_and_reports_on_the_staging_tip() {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    // The same expression on both tips: the staging tip is a hydrator commit, the live tip the
    // commit that created the environments.
    with_gates(
        &world,
        &["staging-hydrated", "live-hydrated"],
        "  - key: staging-hydrated\n    commit: {expression: 'commit.subject.startswith(\"Hydrate\")'}\n  - key: live-hydrated\n    commit: {target: active, expression: 'commit.subject.startswith(\"Hydrate\")'}\n",
    );
    let (stdout, _) = output(&world.reconcile().success());
    let staging = world.staging_tip(0);
    let live = world.live_tip(0);
    let state = |key: &str| world.status(&staging, key).map(|s| s.0);
    assert_eq!(
        state("staging-hydrated").as_deref(),
        Some("success"),
        "{stdout}"
    );
    assert_eq!(
        state("live-hydrated").as_deref(),
        Some("failure"),
        "{stdout}"
    );
    let (_, description) = world.status(&staging, "live-hydrated").unwrap();
    assert!(
        description.starts_with(&format!("{} fails", live.short())),
        "the description names the judged (live) commit: {description}"
    );
    assert_eq!(
        world.status(&live, "live-hydrated"),
        None,
        "reported on the staging tip only"
    );
    assert_eq!(world.live_dry(0), None);
}

/// An HTTP endpoint on 127.0.0.1 (a CI system, Argo CD) answering `body` to every request and
/// recording each request's path and Authorization header.
struct Endpoint {
    url: String,
    body: std::sync::Arc<std::sync::Mutex<String>>,
    seen: std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>,
}

impl Endpoint {
    fn start(body: &str) -> Endpoint {
        let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
        let port = server.server_addr().to_ip().expect("ip").port();
        let body = std::sync::Arc::new(std::sync::Mutex::new(body.to_owned()));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (answer, record) = (body.clone(), seen.clone());
        // Ends with the test process; each request is answered at once.
        std::thread::spawn(move || {
            for request in server.incoming_requests() {
                let auth = request
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.to_string())
                    .unwrap_or_default();
                record
                    .lock()
                    .unwrap()
                    .push((request.url().to_owned(), auth));
                let text = answer.lock().unwrap().clone();
                let _ = request.respond(tiny_http::Response::from_string(text));
            }
        });
        Endpoint {
            url: format!("http://127.0.0.1:{port}"),
            body,
            seen,
        }
    }

    fn answer(&self, body: &str) {
        *self.body.lock().unwrap() = body.to_owned();
    }
}

/// `promoter reconcile` with one more variable in its environment (a gate's secret); exit 0.
fn reconcile_with(world: &World, variable: &str, value: &str) -> assert_cmd::assert::Assert {
    world
        .command(&["reconcile"], super::TOKEN)
        .env(variable, value)
        .assert()
        .success()
}

/// Appends `gates` to the world's promotion.yaml, written with `strategy_extra`.
fn config_with_gates(world: &World, strategy_extra: &str, gates: &str) {
    let path = world.config(strategy_extra, &|_| String::new());
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(gates.as_bytes()))
        .expect("append gates");
}

const SMOKE_SECRET: &str = "Bearer smk_9c1f4e7a2b8d3f60e5a1";

fn a_web_request_gate_holds_the_next_environment_until_the_endpoint_says_passed(forge: Forge) {
    let server = Endpoint::start(r#"{"state":"running"}"#);
    let mut world = World::new(forge, &["dev", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    let gates = format!(
        "gates:\n  - key: smoke-tests\n    webRequest:\n      url: \"{}/runs?sha={{{{ commit.sha }}}}&env={{{{ environment.branch }}}}\"\n      headersFromEnv: {{Authorization: SMOKE_AUTH}}\n      success: 'response.status == 200 and response.json.state == \"passed\"'\n      failure: 'response.json.state == \"failed\"'\n      timeout: 5s\n",
        server.url
    );
    config_with_gates(
        &world,
        "    activeCommitStatuses:\n      - key: smoke-tests\n",
        &gates,
    );
    let reconcile = || reconcile_with(&world, "SMOKE_AUTH", SMOKE_SECRET);

    // Pass 1: dev merges; prod waits for smoke-tests on dev's new live tip. The endpoint is not
    // asked about a commit the pass itself just created: the next pass asks.
    let (stdout, _) = output(&reconcile());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    assert_eq!(world.live_dry(1), None, "{stdout}");
    let dev_live = world.live_tip(0);
    assert_eq!(world.status(&dev_live, "smoke-tests"), None);
    assert!(server.seen.lock().unwrap().is_empty());

    // Pass 2: the run is still going: pending, written on dev's live tip.
    let (stdout, _) = output(&reconcile());
    assert_eq!(world.live_dry(1), None, "{stdout}");
    assert_eq!(
        world.status(&dev_live, "smoke-tests"),
        Some((
            "pending".to_owned(),
            "HTTP 200: waiting for `success` to hold".to_owned()
        )),
        "{stdout}"
    );
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().cloned(),
        Some((
            format!("/runs?sha={dev_live}&env=environment/dev"),
            SMOKE_SECRET.to_owned()
        ))
    );
    assert!(
        !stdout.contains("smk_9c1f4e7a"),
        "the secret never prints: {stdout}"
    );

    // The endpoint says passed: smoke-tests is success on dev, and prod merges.
    server.answer(r#"{"state":"passed"}"#);
    let (stdout, _) = output(&reconcile());
    assert_eq!(
        world
            .status(&dev_live, "smoke-tests")
            .map(|s| s.0)
            .as_deref(),
        Some("success"),
        "{stdout}"
    );
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()), "{stdout}");
}

/// An Argo CD application list with one application deploying `environment/dev`.
fn argocd_apps(sync: &str, revision: &str, health: &str) -> String {
    format!(
        r#"{{"metadata":{{"resourceVersion":"9120"}},"items":[{{"metadata":{{"name":"payments-dev","namespace":"argocd","labels":{{"team":"payments"}}}},"spec":{{"project":"default","source":{{"repoURL":"https://example.invalid/acme/deploy.git","path":".","targetRevision":"environment/dev"}},"destination":{{"server":"https://kubernetes.default.svc","namespace":"payments-dev"}}}},"status":{{"sync":{{"status":"{sync}","revision":"{revision}"}},"health":{{"status":"{health}"}},"reconciledAt":"2026-12-01T09:03:40Z"}}}}]}}"#
    )
}

const ARGOCD_TOKEN: &str = "argo_5d0e8c1b7a9f2e46c3b1";

fn an_argocd_gate_holds_the_next_environment_until_the_application_runs_the_live_tip(forge: Forge) {
    let argocd = Endpoint::start(&argocd_apps("Synced", "0000000", "Healthy"));
    let mut world = World::new(forge, &["dev", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    config_with_gates(
        &world,
        "    activeCommitStatuses:\n      - key: argocd-health\n",
        &format!(
            "gates:\n  - key: argocd-health\n    argocd:\n      server: {}\n      selector: team=payments\n",
            argocd.url
        ),
    );
    let reconcile = || reconcile_with(&world, "ARGOCD_AUTH_TOKEN", ARGOCD_TOKEN);

    // Pass 1: dev merges; Argo CD is asked from the next pass on.
    let (stdout, _) = output(&reconcile());
    assert_eq!(world.live_dry(0).as_deref(), Some(dry.as_str()), "{stdout}");
    let dev_live = world.live_tip(0);

    // Pass 2: Argo CD still runs the old commit: pending with counts; prod waits.
    let (stdout, _) = output(&reconcile());
    let (state, description) = world
        .status(&dev_live, "argocd-health")
        .expect("written on dev's live tip");
    assert_eq!(state, "pending", "{stdout}");
    assert!(
        description.starts_with(&format!(
            "0/1 healthy and synced to {} (1 not synced to it, 0 degraded)",
            dev_live.short()
        )),
        "{description}"
    );
    assert_eq!(world.live_dry(1), None, "{stdout}");
    let seen = argocd.seen.lock().unwrap().clone();
    assert_eq!(
        seen.last().cloned(),
        Some((
            "/api/v1/applications?selector=team%3Dpayments".to_owned(),
            format!("Bearer {ARGOCD_TOKEN}")
        ))
    );

    // Argo CD synced the live tip and it is healthy: success, and prod merges.
    argocd.answer(&argocd_apps("Synced", dev_live.as_str(), "Healthy"));
    let (stdout, _) = output(&reconcile());
    assert_eq!(
        world.status(&dev_live, "argocd-health"),
        Some((
            "success".to_owned(),
            format!("1/1 healthy and synced to {}", dev_live.short())
        )),
        "{stdout}"
    );
    assert_eq!(world.live_dry(1).as_deref(), Some(dry.as_str()), "{stdout}");
    assert!(!stdout.contains("argo_5d0e8c1b"), "{stdout}");
}

per_forge!(
    a_commit_rule_holds_the_merge_until_the_staging_tip_carries_a_ticket_trailer,
    a_web_request_gate_holds_the_next_environment_until_the_endpoint_says_passed,
    an_argocd_gate_holds_the_next_environment_until_the_application_runs_the_live_tip
);
