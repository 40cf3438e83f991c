//! The sandbox's Bitbucket Data Center dialect (`/rest/...`) over real HTTP: Bearer auth and the
//! `errors[]` body, `start`/`limit` paging with `isLastPage`/`nextPageStart`, the PR `version`
//! lock on update and merge, the merge refusals with `vetoes`, and commit-wide build statuses.

use serde_json::{Value, json};

use super::gitlab::{Auth, send_to};
use super::{Answer, Forge, NAME, OWNER, TOKEN, forge};

const REPO: &str = "/rest/api/1.0/projects/ACME/repos/deploy";

fn send(
    forge: &Forge,
    method: &str,
    path: &str,
    body: Option<Value>,
    token: Option<&str>,
) -> Answer {
    let text = body.map(|b| b.to_string());
    let auth = token.map_or(Auth::None, Auth::Bearer);
    send_to(
        &forge.sandbox.base_url(),
        method,
        path,
        text.as_deref().map(|t| ("application/json", t)),
        auth,
    )
}

fn call(forge: &Forge, method: &str, path: &str, body: Option<Value>) -> Answer {
    send(forge, method, path, body, Some(TOKEN))
}

fn create(forge: &Forge) -> Value {
    let body = json!({
        "title": "Promote v2",
        "description": "body",
        "fromRef": {"id": "refs/heads/environment/dev-next",
            "repository": {"slug": NAME, "project": {"key": "ACME"}}},
        "toRef": {"id": "refs/heads/environment/dev",
            "repository": {"slug": NAME, "project": {"key": "ACME"}}},
    });
    let answer = call(forge, "POST", &format!("{REPO}/pull-requests"), Some(body));
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()
}

fn first_error(answer: &Answer) -> Value {
    answer.json()["errors"][0].clone()
}

#[test]
fn anonymous_and_unknown_tokens_get_401_in_the_error_body() {
    let forge = forge();
    for token in [None, Some("nope")] {
        let answer = send(&forge, "GET", &format!("{REPO}/pull-requests"), None, token);
        assert_eq!(answer.status, 401);
        assert!(
            first_error(&answer)["message"]
                .as_str()
                .unwrap()
                .contains("Authentication")
        );
    }
    let unknown = call(
        &forge,
        "GET",
        "/rest/api/1.0/projects/ACME/repos/nope/pull-requests",
        None,
    );
    assert_eq!(unknown.status, 404);
    assert_eq!(
        first_error(&unknown)["exceptionName"],
        "com.atlassian.bitbucket.NoSuchEntityException"
    );
}

#[test]
fn a_pull_request_shows_its_refs_version_and_page_and_duplicates_are_409() {
    let forge = forge();
    let pr = create(&forge);
    assert_eq!(pr["id"], 1);
    assert_eq!(pr["version"], 0);
    assert_eq!(pr["state"], "OPEN");
    assert_eq!(pr["fromRef"]["id"], "refs/heads/environment/dev-next");
    assert_eq!(pr["fromRef"]["latestCommit"], forge.staging.as_str());
    assert_eq!(pr["toRef"]["repository"]["project"]["key"], OWNER);
    assert!(
        pr["links"]["self"][0]["href"]
            .as_str()
            .unwrap()
            .ends_with("/projects/acme/repos/deploy/pull-requests/1")
    );
    let body = json!({"title": "again",
        "fromRef": {"id": "refs/heads/environment/dev-next"},
        "toRef": {"id": "refs/heads/environment/dev"}});
    let duplicate = call(&forge, "POST", &format!("{REPO}/pull-requests"), Some(body));
    assert_eq!(duplicate.status, 409);
    assert_eq!(
        first_error(&duplicate)["exceptionName"],
        "com.atlassian.bitbucket.pull.DuplicatePullRequestException"
    );
}

#[test]
fn lists_filter_on_the_target_ref_and_page_with_next_page_start() {
    let forge = forge();
    create(&forge);
    let path = format!(
        "{REPO}/pull-requests?state=OPEN&direction=INCOMING&at=refs%2Fheads%2Fenvironment%2Fdev&limit=1"
    );
    let page = call(&forge, "GET", &path, None).json();
    assert_eq!(page["values"].as_array().unwrap().len(), 1);
    assert_eq!(page["isLastPage"], true);
    assert!(page.get("nextPageStart").is_none());
    let other = format!("{REPO}/pull-requests?at=refs%2Fheads%2Fmain");
    assert_eq!(call(&forge, "GET", &other, None).json()["size"], 0);
    // Two build statuses fill two pages of one.
    for key in ["a", "b"] {
        let status = json!({"state": "SUCCESSFUL", "key": key, "url": "https://ci.example/1"});
        let path = format!("/rest/build-status/1.0/commits/{}", forge.staging);
        assert_eq!(call(&forge, "POST", &path, Some(status)).status, 204);
    }
    let path = format!("/rest/build-status/1.0/commits/{}?limit=1", forge.staging);
    let first = call(&forge, "GET", &path, None).json();
    assert_eq!(first["isLastPage"], false);
    assert_eq!(first["nextPageStart"], 1);
    let second = call(&forge, "GET", &format!("{path}&start=1"), None).json();
    assert_eq!(second["isLastPage"], true);
    assert_eq!(second["values"][0]["key"], "b");
}

#[test]
fn update_and_merge_need_the_current_version() {
    let forge = forge();
    create(&forge);
    let pr = format!("{REPO}/pull-requests/1");
    let stale = call(
        &forge,
        "PUT",
        &pr,
        Some(json!({"version": 7, "title": "x"})),
    );
    assert_eq!(stale.status, 409);
    assert_eq!(
        first_error(&stale)["exceptionName"],
        "com.atlassian.bitbucket.pull.PullRequestOutOfDateException"
    );
    let missing = call(&forge, "PUT", &pr, Some(json!({"title": "x"})));
    assert_eq!(missing.status, 400);
    let updated = call(
        &forge,
        "PUT",
        &pr,
        Some(json!({"version": 0, "title": "x"})),
    );
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["version"], 1, "a change bumps the version");
    // A push to the source branch bumps it too.
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &sandbox::CommitSpec::new("v3"),
        )
        .unwrap();
    let merge = call(
        &forge,
        "POST",
        &format!("{pr}/merge?version=1"),
        Some(json!({})),
    );
    assert_eq!(merge.status, 409, "{}", merge.text);
    let version = call(&forge, "GET", &pr, None).json()["version"].clone();
    assert_eq!(version, 2);
    let merged = call(
        &forge,
        "POST",
        &format!("{pr}/merge?version=2"),
        Some(json!({"message": "Subject\n\nBody", "strategyId": "no-ff", "autoSubject": false})),
    );
    assert_eq!(merged.status, 200, "{}", merged.text);
    let merged = merged.json();
    assert_eq!(merged["state"], "MERGED");
    let merge_commit = merged["properties"]["mergeCommit"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let message = forge
        .sandbox
        .commit_message(OWNER, NAME, &merge_commit)
        .unwrap();
    assert_eq!(message.trim_end(), "Subject\n\nBody");
    let commit = call(
        &forge,
        "GET",
        &format!("{REPO}/commits/{merge_commit}"),
        None,
    )
    .json();
    assert_eq!(commit["parents"].as_array().unwrap().len(), 2);
    let again = call(
        &forge,
        "POST",
        &format!("{pr}/merge?version=3"),
        Some(json!({})),
    );
    assert_eq!(again.status, 409);
    assert_eq!(
        first_error(&again)["exceptionName"],
        "com.atlassian.bitbucket.pull.IllegalPullRequestStateException"
    );
}

#[test]
fn a_disabled_merge_commit_strategy_is_a_veto_shown_by_the_merge_check() {
    let forge = forge();
    forge
        .sandbox
        .set_allow_merge_commit(OWNER, NAME, false)
        .unwrap();
    create(&forge);
    let pr = format!("{REPO}/pull-requests/1");
    let check = call(&forge, "GET", &format!("{pr}/merge"), None).json();
    assert_eq!(check["canMerge"], false);
    assert_eq!(
        check["vetoes"][0]["summaryMessage"],
        "Merge strategy not enabled"
    );
    let merge = call(
        &forge,
        "POST",
        &format!("{pr}/merge?version=0"),
        Some(json!({})),
    );
    assert_eq!(merge.status, 409);
    let error = first_error(&merge);
    assert_eq!(
        error["exceptionName"],
        "com.atlassian.bitbucket.pull.PullRequestMergeVetoedException"
    );
    assert_eq!(error["vetoes"].as_array().unwrap().len(), 1);
}

#[test]
fn build_statuses_need_state_key_and_url_and_the_newest_per_key_is_listed() {
    let forge = forge();
    let path = format!("/rest/build-status/1.0/commits/{}", forge.staging);
    let no_url = call(
        &forge,
        "POST",
        &path,
        Some(json!({"state": "SUCCESSFUL", "key": "k"})),
    );
    assert_eq!(no_url.status, 400);
    let bad_state = json!({"state": "DONE", "key": "k", "url": "https://ci.example"});
    assert_eq!(call(&forge, "POST", &path, Some(bad_state)).status, 400);
    for state in ["INPROGRESS", "FAILED"] {
        let status =
            json!({"state": state, "key": "k", "url": "https://ci.example", "description": state});
        assert_eq!(call(&forge, "POST", &path, Some(status)).status, 204);
    }
    let list = call(&forge, "GET", &path, None).json();
    assert_eq!(list["size"], 1);
    assert_eq!(list["values"][0]["state"], "FAILED");
    assert_eq!(list["values"][0]["description"], "FAILED");
    let unknown = format!("/rest/build-status/1.0/commits/{}", "0".repeat(40));
    let status = json!({"state": "SUCCESSFUL", "key": "k", "url": "https://ci.example"});
    assert_eq!(call(&forge, "POST", &unknown, Some(status)).status, 404);
}
