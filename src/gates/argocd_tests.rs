//! Against a real HTTP server on 127.0.0.1 serving Application lists shaped as Argo CD's
//! `GET /api/v1/applications` answers them (fields as in the v1alpha1 Application CRD).

use super::*;
use crate::scm::test_server::{Canned, ScriptedServer};

const TOKEN: &str = "argocd-token-3e9b1f7c0a5d28e4";

fn live() -> Sha {
    Sha::parse(&"d1".repeat(20)).unwrap()
}

fn branch() -> BranchName {
    BranchName::parse("environment/prod").unwrap()
}

/// One Application as the API returns it: `source` is `"single"`, `"multi"` or `"hydrator"`.
fn app(name: &str, tracks: &str, source: &str, sync: &str, revision: &str, health: &str) -> String {
    let spec = match source {
        "multi" => format!(
            r#""sources": [{{"repoURL": "https://github.com/acme/charts.git", "chart": "web", "targetRevision": "1.4.2"}}, {{"repoURL": "https://github.com/acme/deploy.git", "path": "payments", "targetRevision": "{tracks}", "ref": "values"}}]"#
        ),
        "hydrator" => format!(
            r#""sourceHydrator": {{"drySource": {{"repoURL": "https://github.com/acme/deploy.git", "targetRevision": "main", "path": "payments"}}, "syncSource": {{"targetBranch": "{tracks}", "path": "payments"}}}}"#
        ),
        _ => format!(
            r#""source": {{"repoURL": "https://github.com/acme/deploy.git", "path": "payments", "targetRevision": "{tracks}"}}"#
        ),
    };
    let revisions = if source == "multi" {
        format!(r#", "revisions": ["0.0.0-chart", "{revision}"]"#)
    } else {
        String::new()
    };
    let revision_field = if source == "multi" {
        String::new()
    } else {
        format!(r#", "revision": "{revision}""#)
    };
    format!(
        r#"{{
  "metadata": {{"name": "{name}", "namespace": "argocd", "labels": {{"team": "payments"}}, "resourceVersion": "48213", "creationTimestamp": "2026-11-02T08:14:51Z"}},
  "spec": {{"project": "default", {spec}, "destination": {{"server": "https://kubernetes.default.svc", "namespace": "payments"}}, "syncPolicy": {{"automated": {{"prune": true, "selfHeal": true}}}}}},
  "status": {{
    "resources": [{{"version": "v1", "kind": "Service", "namespace": "payments", "name": "web", "status": "Synced", "health": {{"status": "Healthy"}}}}],
    "sync": {{"status": "{sync}", "comparedTo": {{"destination": {{"server": "https://kubernetes.default.svc", "namespace": "payments"}}}}{revision_field}{revisions}}},
    "health": {{"status": "{health}", "lastTransitionTime": "2026-12-01T09:02:11Z"}},
    "reconciledAt": "2026-12-01T09:03:40Z",
    "sourceType": "Directory"
  }}
}}"#
    )
}

fn list(apps: &[String]) -> String {
    format!(
        r#"{{"metadata": {{"resourceVersion": "48230"}}, "items": [{}]}}"#,
        apps.join(",")
    )
}

fn gate(server: &str) -> ArgocdGate {
    ArgocdGate {
        server: server.to_owned(),
        token_env: "ARGOCD_AUTH_TOKEN".into(),
        selector: "team=payments,tier in (web)".into(),
    }
}

fn judged(answer: Canned) -> (GateResult, ScriptedServer) {
    let server = ScriptedServer::start(vec![answer]);
    let trust = Trust::new(None);
    let env = |name: &str| (name == "ARGOCD_AUTH_TOKEN").then(|| TOKEN.to_owned());
    let got = ask(
        &GateKey::parse("argocd-health").unwrap(),
        &gate(&server.base_url),
        &branch(),
        &live(),
        &env,
        &trust,
    );
    (got, server)
}

fn tip() -> String {
    live().as_str().to_owned()
}

/// An application deploying `environment/prod`, synced to the live tip, with `health`.
fn synced(name: &str, source: &str, health: &str) -> String {
    app(name, "environment/prod", source, "Synced", &tip(), health)
}

/// [`synced`] and healthy.
fn ready(name: &str, source: &str) -> String {
    synced(name, source, "Healthy")
}

#[test]
fn every_application_synced_to_the_live_tip_and_healthy_is_success() {
    let apps = [
        ready("payments-prod", "single"),
        ready("payments-prod-eu", "multi"),
        ready("payments-prod-us", "hydrator"),
        // Another environment's application, out of sync: not this gate's business.
        app(
            "payments-dev",
            "environment/dev",
            "single",
            "OutOfSync",
            "abc",
            "Degraded",
        ),
    ];
    let (got, server) = judged(Canned::json(200, list(&apps)));
    assert_eq!(
        (got.state, got.description.as_str()),
        (GateState::Success, "3/3 healthy and synced to d1d1d1d")
    );
    let sent = &server.requests()[0];
    assert_eq!(
        sent.url,
        "/api/v1/applications?selector=team%3Dpayments%2Ctier%20in%20%28web%29"
    );
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
}

#[test]
fn an_application_out_of_sync_or_on_another_commit_keeps_it_pending_with_counts() {
    let apps = [
        ready("payments-prod", "single"),
        app(
            "payments-prod-eu",
            "environment/prod",
            "single",
            "OutOfSync",
            &"0a".repeat(20),
            "Healthy",
        ),
        ready("payments-prod-us", "single"),
    ];
    let (got, _) = judged(Canned::json(200, list(&apps)));
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        "2/3 healthy and synced to d1d1d1d (1 not synced to it, 0 degraded); `payments-prod-eu` is OutOfSync at 0a0a0a0, Healthy"
    );
    // Synced, but to an older commit: still not this one.
    let old = [app(
        "payments-prod",
        "environment/prod",
        "single",
        "Synced",
        &"0b".repeat(20),
        "Healthy",
    )];
    let (got, _) = judged(Canned::json(200, list(&old)));
    assert_eq!(got.state, GateState::Pending);
}

#[test]
fn failure_only_when_every_application_is_degraded() {
    let all = [
        synced("a", "single", "Degraded"),
        synced("b", "multi", "Degraded"),
    ];
    let (got, _) = judged(Canned::json(200, list(&all)));
    assert_eq!(
        (got.state, got.description.as_str()),
        (GateState::Failure, "2/2 degraded")
    );
    let partial = [
        synced("a", "single", "Degraded"),
        synced("b", "single", "Progressing"),
    ];
    let (got, _) = judged(Canned::json(200, list(&partial)));
    assert_eq!(got.state, GateState::Pending);
    assert!(got.description.starts_with("0/2 healthy"), "{got:?}");
}

#[test]
fn no_application_deploying_the_branch_is_pending_not_success() {
    let (got, _) = judged(Canned::json(200, r#"{"metadata": {}, "items": null}"#));
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        "no Argo CD application selected by `team=payments,tier in (web)` deploys `environment/prod`"
    );
}

#[test]
fn a_refused_token_or_a_broken_answer_is_pending_with_the_reason() {
    let (got, server) = judged(Canned::json(
        401,
        r#"{"error":"invalid session","code":16}"#,
    ));
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        format!(
            "Argo CD at {} refused the token (401): it needs `applications, get` on the selected applications",
            server.base_url
        )
    );
    let (got, _) = judged(Canned::json(200, "<html>login</html>"));
    assert!(
        got.description.contains("sent no application list"),
        "{got:?}"
    );
    let server = ScriptedServer::start(Vec::new());
    let got = ask(
        &GateKey::parse("argocd-health").unwrap(),
        &gate(&server.base_url),
        &branch(),
        &live(),
        &|_| None,
        &Trust::new(None),
    );
    assert_eq!(
        got.description,
        "`ARGOCD_AUTH_TOKEN` is not set: no Argo CD token"
    );
    assert!(server.requests().is_empty());
}
