//! Commit statuses (create, list, combined) and check runs (create, list).

use sandbox::Token;

use super::{Auth, NAME, OWNER, api, forge, repo_path, send};

fn post_status(forge: &super::Forge, sha: &str, body: &str) -> super::Answer {
    api(
        forge,
        "POST",
        &repo_path(&format!("/statuses/{sha}")),
        Some(body),
    )
}

#[test]
fn creating_a_status_answers_201_with_the_status_and_its_creator() {
    let forge = forge();
    let answer = post_status(
        &forge,
        forge.staging.as_str(),
        r#"{"state":"pending","context":"promoter-previous-environment","description":"Waiting","target_url":"https://x"}"#,
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    let status = answer.json();
    assert_eq!(status["state"], "pending");
    assert_eq!(status["context"], "promoter-previous-environment");
    assert_eq!(status["description"], "Waiting");
    assert_eq!(status["target_url"], "https://x");
    assert_eq!(status["creator"]["login"], "promoter-bot");
    assert!(status["id"].is_u64());
}

#[test]
fn invalid_statuses_are_refused_with_422() {
    let forge = forge();
    let sha = forge.staging.as_str();
    assert_eq!(post_status(&forge, sha, r#"{"state":"done"}"#).status, 422);
    let long = "x".repeat(141);
    assert_eq!(
        post_status(
            &forge,
            sha,
            &format!(r#"{{"state":"success","description":"{long}"}}"#)
        )
        .status,
        422
    );
    let unknown = post_status(&forge, &"0".repeat(40), r#"{"state":"success"}"#);
    assert_eq!(unknown.status, 422);
}

#[test]
fn the_combined_status_takes_the_latest_status_per_context() {
    let forge = forge();
    let sha = forge.staging.as_str();
    let combined = |forge: &super::Forge| {
        api(
            forge,
            "GET",
            &repo_path(&format!("/commits/{sha}/status")),
            None,
        )
        .json()
    };
    let none = combined(&forge);
    assert_eq!(none["state"], "pending");
    assert_eq!(none["total_count"], 0);
    post_status(&forge, sha, r#"{"state":"failure","context":"ci"}"#);
    post_status(&forge, sha, r#"{"state":"success","context":"health"}"#);
    assert_eq!(combined(&forge)["state"], "failure");
    post_status(&forge, sha, r#"{"state":"success","context":"CI"}"#);
    let all_green = combined(&forge);
    assert_eq!(all_green["state"], "success");
    assert_eq!(all_green["total_count"], 2);
    assert_eq!(all_green["sha"], sha);
    post_status(&forge, sha, r#"{"state":"pending","context":"health"}"#);
    assert_eq!(combined(&forge)["state"], "pending");
    post_status(&forge, sha, r#"{"state":"error","context":"health"}"#);
    assert_eq!(combined(&forge)["state"], "failure");
}

#[test]
fn statuses_are_listed_newest_first_by_sha_or_branch() {
    let forge = forge();
    let sha = forge.staging.as_str();
    post_status(&forge, sha, r#"{"state":"pending","context":"a"}"#);
    post_status(&forge, sha, r#"{"state":"success","context":"a"}"#);
    let by_sha = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{sha}/statuses")),
        None,
    )
    .json();
    let states: Vec<&str> = by_sha
        .as_array()
        .expect("array")
        .iter()
        .map(|s| s["state"].as_str().expect("state"))
        .collect();
    assert_eq!(states, vec!["success", "pending"]);
    let by_branch = api(
        &forge,
        "GET",
        &repo_path("/commits/environment/dev-next/statuses"),
        None,
    )
    .json();
    assert_eq!(by_branch, by_sha);
    let combined = api(
        &forge,
        "GET",
        &repo_path("/commits/environment%2Fdev-next/status"),
        None,
    )
    .json();
    assert_eq!(combined["state"], "success");
}

#[test]
fn statuses_set_as_ci_are_visible_through_the_api() {
    let forge = forge();
    forge
        .sandbox
        .set_status(
            OWNER,
            NAME,
            &forge.staging,
            "argocd-health",
            "success",
            "Healthy",
        )
        .expect("status");
    let list = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{}/statuses", forge.staging)),
        None,
    )
    .json();
    assert_eq!(list[0]["context"], "argocd-health");
    assert_eq!(list[0]["creator"]["login"], "sandbox-ci");
}

#[test]
fn check_runs_list_the_latest_run_per_name_unless_all_are_asked() {
    let forge = forge();
    let sandbox = &forge.sandbox;
    sandbox
        .set_check_run(OWNER, NAME, &forge.staging, "build", None)
        .expect("run");
    sandbox
        .set_check_run(OWNER, NAME, &forge.staging, "build", Some("success"))
        .expect("run");
    sandbox
        .set_check_run(OWNER, NAME, &forge.staging, "scan", Some("failure"))
        .expect("run");
    let latest = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{}/check-runs", forge.staging)),
        None,
    )
    .json();
    assert_eq!(latest["total_count"], 2);
    assert_eq!(latest["check_runs"][0]["name"], "scan");
    assert_eq!(latest["check_runs"][1]["name"], "build");
    assert_eq!(latest["check_runs"][1]["status"], "completed");
    assert_eq!(latest["check_runs"][1]["conclusion"], "success");
    let all = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{}/check-runs?filter=all", forge.staging)),
        None,
    )
    .json();
    assert_eq!(all["total_count"], 3);
    assert_eq!(all["check_runs"][2]["status"], "in_progress");
    assert!(all["check_runs"][2]["conclusion"].is_null());
}

#[test]
fn only_a_github_app_token_may_create_check_runs() {
    let forge = forge();
    let body = format!(
        r#"{{"name":"health","head_sha":"{}","status":"completed","conclusion":"success"}}"#,
        forge.staging
    );
    let refused = api(&forge, "POST", &repo_path("/check-runs"), Some(&body));
    assert_eq!(refused.status, 403);
    forge
        .sandbox
        .add_app_token("ci-app", &Token::new("app-token"));
    let created = send(
        &forge,
        "POST",
        &repo_path("/check-runs"),
        Some(&body),
        Auth::Bearer("app-token"),
        true,
    );
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.json()["app"]["slug"], "ci-app");
    assert_eq!(created.json()["conclusion"], "success");
    let listed = api(
        &forge,
        "GET",
        &repo_path("/commits/environment/dev-next/check-runs"),
        None,
    )
    .json();
    assert_eq!(listed["check_runs"][0]["name"], "health");
}
