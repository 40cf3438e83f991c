//! GitHub's request rules (User-Agent, credentials, rate-limit headers, error bodies), the
//! repository, branch and rate-limit endpoints, fault injection and the request log.

use std::time::{Duration, Instant};

use sandbox::Fault;

use super::{Auth, TOKEN, api, forge, repo_path, send};

#[test]
fn a_request_without_user_agent_is_forbidden() {
    let forge = forge();
    let answer = send(
        &forge,
        "GET",
        &repo_path(""),
        None,
        Auth::Bearer(TOKEN),
        false,
    );
    assert_eq!(answer.status, 403);
    assert!(answer.text.contains("User-Agent"), "{}", answer.text);
}

#[test]
fn a_wrong_token_gets_401_bad_credentials_in_either_header_form() {
    let forge = forge();
    for auth in [Auth::Bearer("wrong"), Auth::Token("wrong")] {
        let answer = send(&forge, "GET", &repo_path(""), None, auth, true);
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json()["message"], "Bad credentials");
    }
    let answer = send(
        &forge,
        "GET",
        &repo_path(""),
        None,
        Auth::Token(TOKEN),
        true,
    );
    assert_eq!(answer.status, 200);
}

#[test]
fn anonymous_callers_cannot_see_the_private_repositories() {
    let forge = forge();
    let answer = send(&forge, "GET", &repo_path("/pulls"), None, Auth::None, true);
    assert_eq!(answer.status, 404);
    assert_eq!(answer.json()["message"], "Not Found");
    let limits = send(&forge, "GET", "/rate_limit", None, Auth::None, true);
    assert_eq!(limits.status, 200);
    assert_eq!(limits.json()["resources"]["core"]["limit"], 60);
}

#[test]
fn every_answer_carries_rate_limit_headers_counting_down() {
    let forge = forge();
    let first = api(&forge, "GET", &repo_path(""), None);
    let missing = api(&forge, "GET", "/nowhere", None);
    let refused = send(
        &forge,
        "GET",
        &repo_path(""),
        None,
        Auth::Bearer("wrong"),
        true,
    );
    for answer in [&first, &missing, &refused] {
        for name in [
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "x-ratelimit-used",
            "x-ratelimit-reset",
            "x-ratelimit-resource",
        ] {
            assert!(
                answer.header(name).is_some(),
                "{name} missing on {}",
                answer.status
            );
        }
    }
    assert_eq!(first.header("x-ratelimit-limit"), Some("5000"));
    assert_eq!(first.header("x-ratelimit-remaining"), Some("4999"));
    assert_eq!(missing.header("x-ratelimit-remaining"), Some("4998"));
    let limits = api(&forge, "GET", "/rate_limit", None).json();
    assert_eq!(limits["resources"]["core"]["used"], 2);
    assert_eq!(limits["rate"]["remaining"], 4998);
}

#[test]
fn unknown_routes_answer_404_not_found_as_json() {
    let forge = forge();
    for path in [
        "/nowhere",
        "/repos/acme/other",
        "/repos/acme/deploy/pulls/x",
        "/repos/acme/deploy/labels",
    ] {
        let answer = api(&forge, "GET", path, None);
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json()["message"], "Not Found", "{path}");
    }
    assert_eq!(
        api(&forge, "DELETE", &repo_path("/pulls"), None).status,
        404
    );
}

#[test]
fn a_malformed_json_body_is_a_400() {
    let forge = forge();
    let answer = api(&forge, "POST", &repo_path("/pulls"), Some("{not json"));
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["message"], "Problems parsing JSON");
}

#[test]
fn the_repository_and_branch_endpoints_describe_the_bare_repository() {
    let forge = forge();
    let repo = api(&forge, "GET", &repo_path(""), None).json();
    assert_eq!(repo["full_name"], "acme/deploy");
    assert_eq!(repo["default_branch"], "main");
    assert_eq!(repo["clone_url"], forge.sandbox.clone_url("acme", "deploy"));
    assert_eq!(repo["allow_merge_commit"], true);
    let branch = api(
        &forge,
        "GET",
        &repo_path("/branches/environment/dev-next"),
        None,
    );
    assert_eq!(branch.status, 200);
    let branch = branch.json();
    assert_eq!(branch["name"], "environment/dev-next");
    assert_eq!(branch["commit"]["sha"], forge.staging.as_str());
    assert_eq!(branch["commit"]["parents"][0]["sha"], forge.live.as_str());
    assert_eq!(branch["commit"]["commit"]["message"], "hydrate v2");
    assert_eq!(
        api(&forge, "GET", &repo_path("/branches/missing"), None).status,
        404
    );
}

#[test]
fn an_injected_fault_answers_the_next_matching_requests_then_stops() {
    let forge = forge();
    forge.sandbox.inject(
        Fault::new("GET", "/api/v3/repos/*/pulls")
            .times(2)
            .status(403)
            .header("retry-after", "7")
            .header("x-ratelimit-remaining", "0")
            .body(r#"{"message":"You have exceeded a secondary rate limit."}"#),
    );
    let repo = api(&forge, "GET", &repo_path(""), None);
    assert_eq!(repo.status, 200);
    for _ in 0..2 {
        let limited = api(&forge, "GET", &repo_path("/pulls"), None);
        assert_eq!(limited.status, 403);
        assert_eq!(limited.header("retry-after"), Some("7"));
        assert_eq!(limited.header("x-ratelimit-remaining"), Some("0"));
        assert_eq!(
            limited.json()["message"],
            "You have exceeded a secondary rate limit."
        );
    }
    assert_eq!(api(&forge, "GET", &repo_path("/pulls"), None).status, 200);
}

#[test]
fn a_delay_fault_slows_the_real_answer() {
    let forge = forge();
    forge
        .sandbox
        .inject(Fault::new("*", "*/rate_limit").delay(Duration::from_millis(300)));
    let started = Instant::now();
    let answer = api(&forge, "GET", "/rate_limit", None);
    assert_eq!(answer.status, 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn the_request_log_records_each_call_with_query_body_and_status() {
    let forge = forge();
    forge.sandbox.clear_requests();
    api(
        &forge,
        "GET",
        &repo_path("/pulls?state=open&head=acme:x"),
        None,
    );
    api(
        &forge,
        "POST",
        &repo_path("/pulls"),
        Some(r#"{"title":"t","head":"nope","base":"main"}"#),
    );
    let log = forge.sandbox.requests();
    assert_eq!(log.len(), 2);
    assert_eq!(log[0].method, "GET");
    assert_eq!(log[0].path, "/api/v3/repos/acme/deploy/pulls");
    assert_eq!(log[0].query, "state=open&head=acme:x");
    assert_eq!(log[0].status, 200);
    assert_eq!(log[1].body, r#"{"title":"t","head":"nope","base":"main"}"#);
    assert_eq!(log[1].status, 422);
    assert_eq!(forge.sandbox.count_requests("GET", "*/pulls"), 1);
    assert_eq!(forge.sandbox.count_requests("POST", "*"), 1);
}
