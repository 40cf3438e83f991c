//! Against a real HTTP server on 127.0.0.1 (`scm::test_server`), answering from a script.

use std::time::Duration;

use super::*;
use crate::scm::test_server::{Canned, ScriptedServer};

const SECRET: &str = "smoke-secret-7f3a9c2e51d84b06";

fn request(url: &str) -> WebRequest {
    WebRequest {
        url: format!("{url}/runs?sha={{{{ commit.sha }}}}&env={{{{ environment.branch }}}}"),
        method: "GET",
        headers: vec![("X-Gate".into(), "{{ gate.key }}".into())],
        headers_from_env: vec![("Authorization".into(), "SMOKE_AUTH".into())],
        body: None,
        success: r#"response.status == 200 and response.json.state == "passed""#.into(),
        failure: Some(r#"response.json.state == "failed""#.into()),
        timeout: Duration::from_secs(5),
    }
}

fn ask_with(request: &WebRequest, env: Env<'_>) -> GateResult {
    let sha = Sha::parse(&"c0".repeat(20)).unwrap();
    let branch = BranchName::parse("environment/dev").unwrap();
    let staging = BranchName::parse("environment/dev-next").unwrap();
    let target = WebTarget {
        sha: &sha,
        branch: &branch,
        staging_branch: &staging,
        strategy: "app",
    };
    let trust = Trust::new(None);
    ask(
        &GateKey::parse("smoke-tests").unwrap(),
        request,
        &target,
        env,
        &trust,
    )
}

fn with_secret(name: &str) -> Option<String> {
    (name == "SMOKE_AUTH").then(|| format!("Bearer {SECRET}"))
}

fn answer(
    server_script: Vec<Canned>,
    request_of: impl Fn(&str) -> WebRequest,
) -> (GateResult, ScriptedServer) {
    let server = ScriptedServer::start(server_script);
    let got = ask_with(&request_of(&server.base_url), &with_secret);
    (got, server)
}

#[test]
fn a_passing_answer_is_success_and_the_request_carries_templates_and_the_secret() {
    let (got, server) = answer(vec![Canned::json(200, r#"{"state":"passed"}"#)], request);
    assert_eq!(got.state, GateState::Success, "{got:?}");
    assert_eq!(got.description, "HTTP 200: `success` holds");
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.url,
        format!("/runs?sha={}&env=environment/dev", "c0".repeat(20))
    );
    assert_eq!(sent.header("x-gate"), Some("smoke-tests"));
    assert_eq!(
        sent.header("authorization"),
        Some(format!("Bearer {SECRET}").as_str())
    );
    assert!(got.target_url.unwrap().ends_with("&env=environment/dev"));
}

#[test]
fn an_answer_that_is_not_success_is_pending_unless_failure_holds() {
    let (got, _) = answer(vec![Canned::json(200, r#"{"state":"running"}"#)], request);
    assert_eq!(
        (got.state, got.description.as_str()),
        (
            GateState::Pending,
            "HTTP 200: waiting for `success` to hold"
        )
    );
    let (got, _) = answer(vec![Canned::json(200, r#"{"state":"failed"}"#)], request);
    assert_eq!(
        (got.state, got.description.as_str()),
        (GateState::Failure, "HTTP 200: `failure` holds")
    );
    // No `failure` expression: a failing run is still only pending.
    let (got, _) = answer(vec![Canned::json(500, r#"{"state":"failed"}"#)], |url| {
        WebRequest {
            failure: None,
            ..request(url)
        }
    });
    assert_eq!(got.state, GateState::Pending);
}

#[test]
fn a_body_that_is_not_json_leaves_response_json_undefined_and_the_gate_pending() {
    let (got, _) = answer(vec![Canned::json(200, "<html>oops</html>")], request);
    assert_eq!(got.state, GateState::Pending);
    assert!(
        got.description
            .starts_with("HTTP 200: `success` cannot be evaluated: undefined"),
        "{got:?}"
    );
    // `response.text` still works on it.
    let (got, _) = answer(vec![Canned::json(200, "all good")], |url| WebRequest {
        success: r#"response.text == "all good""#.into(),
        ..request(url)
    });
    assert_eq!(got.state, GateState::Success);
}

#[test]
fn no_answer_within_the_timeout_is_pending_and_says_so() {
    let slow = Canned::json(200, r#"{"state":"passed"}"#).delayed(Duration::from_secs(3));
    let (got, server) = answer(vec![slow], |url| WebRequest {
        timeout: Duration::from_secs(1),
        ..request(url)
    });
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        format!("no answer from {} within 1s", server.base_url)
    );
}

#[test]
fn a_missing_secret_variable_sends_nothing() {
    let server = ScriptedServer::start(Vec::new());
    let got = ask_with(&request(&server.base_url), &|_| None);
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        "`SMOKE_AUTH` is not set (header `Authorization` reads it)"
    );
    assert!(server.requests().is_empty());
}

#[test]
fn a_post_sends_its_rendered_body_and_an_echoed_secret_is_redacted() {
    let echo = Canned::json(
        202,
        format!(r#"{{"state":"queued","token":"Bearer {SECRET}"}}"#),
    );
    let (got, server) = answer(vec![echo], |url| WebRequest {
        method: "POST",
        body: Some(r#"{"sha":"{{ commit.sha }}","strategy":"{{ strategy.name }}"}"#.into()),
        success: "false".into(),
        failure: Some("response.json.token".into()),
        ..request(url)
    });
    assert_eq!(got.state, GateState::Failure);
    let sent = &server.requests()[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.json()["strategy"], "app");
    // A server may put anything in its answer; descriptions never carry the secret.
    let cannot = ask_with(
        &WebRequest {
            success: "response.json.token.nope".into(),
            ..request(
                &ScriptedServer::start(vec![Canned::json(
                    200,
                    format!(r#"{{"token":"{SECRET}"}}"#),
                )])
                .base_url,
            )
        },
        &with_secret,
    );
    assert!(!cannot.description.contains(SECRET), "{cannot:?}");
}

#[test]
fn an_answer_over_a_megabyte_is_pending_and_says_so() {
    let huge = "x".repeat(MAX_ANSWER_BYTES as usize + 1);
    let (got, server) = answer(vec![Canned::json(200, huge)], request);
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        format!("the answer from {} is longer than 1 MB", server.base_url)
    );
}
