//! The sandbox's GitLab dialect (`/api/v4`) over real HTTP: GitLab's auth and project addressing,
//! merge requests over the same store as the GitHub dialect, the merge refusals, the commit
//! status state machine and pipelines synthesized from statuses.

use sandbox::{CommitSpec, Sandbox};
use sandbox::{Sha, Token};
use serde_json::{Value, json};

use super::{Answer, Forge, NAME, OWNER, TOKEN, exchange, forge};

const PROJECT: &str = "/projects/acme%2Fdeploy";

pub(crate) enum Auth<'a> {
    PrivateToken(&'a str),
    Bearer(&'a str),
    None,
}

pub(crate) fn send_to(
    base: &str,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
    auth: Auth<'_>,
) -> Answer {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"));
    match auth {
        Auth::PrivateToken(token) => builder = builder.header("PRIVATE-TOKEN", token),
        Auth::Bearer(token) => builder = builder.header("Authorization", format!("Bearer {token}")),
        Auth::None => {}
    }
    exchange(builder, body)
}

fn gitlab(forge: &Forge, method: &str, path: &str, body: Option<Value>) -> Answer {
    let body = body.map(|b| b.to_string());
    send_to(
        &forge.sandbox.gitlab_api_url(),
        method,
        path,
        body.as_deref().map(|b| ("application/json", b)),
        Auth::PrivateToken(TOKEN),
    )
}

fn open_mr(forge: &Forge) -> Value {
    let answer = gitlab(
        forge,
        "POST",
        &format!("{PROJECT}/merge_requests"),
        Some(
            json!({"source_branch": "environment/dev-next", "target_branch": "environment/dev", "title": "Promote"}),
        ),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()
}

#[test]
fn gitlab_auth_takes_private_token_or_bearer_and_answers_401_otherwise() {
    let forge = forge();
    let base = forge.sandbox.gitlab_api_url();
    for auth in [Auth::PrivateToken(TOKEN), Auth::Bearer(TOKEN)] {
        let answer = send_to(&base, "GET", PROJECT, None, auth);
        assert_eq!(answer.status, 200, "{}", answer.text);
        assert_eq!(answer.json()["path_with_namespace"], "acme/deploy");
    }
    for auth in [Auth::PrivateToken("wrong"), Auth::None] {
        let answer = send_to(&base, "GET", PROJECT, None, auth);
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json(), json!({"message": "401 Unauthorized"}));
    }
}

#[test]
fn a_project_is_found_by_encoded_path_or_numeric_id_and_a_raw_slash_is_404() {
    let forge = forge();
    let project = gitlab(&forge, "GET", PROJECT, None).json();
    let id = project["id"].as_u64().expect("id");
    let by_id = gitlab(&forge, "GET", &format!("/projects/{id}"), None);
    assert_eq!(by_id.json()["path_with_namespace"], "acme/deploy");
    assert_eq!(project["merge_method"], "merge");
    let raw = gitlab(&forge, "GET", "/projects/acme/deploy/merge_requests", None);
    assert_eq!(raw.status, 404);
    assert_eq!(raw.json(), json!({"message": "404 Project Not Found"}));
}

#[test]
fn nested_group_projects_live_on_disk_under_their_groups_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let token = Token::new(TOKEN);
    {
        let sandbox = Sandbox::start(dir.path(), &token).expect("sandbox");
        sandbox.create_repo("acme/team", "deploy").expect("repo");
        sandbox
            .commit("acme/team", "deploy", "main", &CommitSpec::new("init"))
            .expect("commit");
        assert!(dir.path().join("acme/team/deploy.git/HEAD").exists());
    }
    let sandbox = Sandbox::start(dir.path(), &token).expect("restart");
    let answer = send_to(
        &sandbox.gitlab_api_url(),
        "GET",
        "/projects/acme%2Fteam%2Fdeploy",
        None,
        Auth::PrivateToken(TOKEN),
    );
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.json()["namespace"]["full_path"], "acme/team");
    assert_eq!(
        sandbox.clone_url("acme/team", "deploy"),
        format!("{}/acme/team/deploy.git", sandbox.base_url())
    );
}

#[test]
fn merge_requests_are_the_stores_pull_requests_in_gitlabs_shape() {
    let forge = forge();
    let mr = open_mr(&forge);
    assert_eq!(mr["iid"], 1);
    assert_eq!(mr["state"], "opened");
    assert_eq!(mr["sha"], forge.staging.as_str());
    assert_eq!(mr["source_project_id"], mr["target_project_id"]);
    assert_eq!(mr["detailed_merge_status"], "mergeable");
    // The same PR through the GitHub dialect and the store.
    assert_eq!(
        forge.sandbox.pull(OWNER, NAME, 1).expect("pull").title,
        "Promote"
    );
    let list = gitlab(
        &forge,
        "GET",
        &format!(
            "{PROJECT}/merge_requests?state=opened&source_branch=environment%2Fdev-next&target_branch=environment%2Fdev&per_page=100"
        ),
        None,
    );
    assert_eq!(list.json().as_array().map(Vec::len), Some(1));
    assert_eq!(list.header("x-total"), Some("1"));
    assert_eq!(list.header("x-per-page"), Some("100"));
    let other = gitlab(
        &forge,
        "GET",
        &format!("{PROJECT}/merge_requests?target_branch=main"),
        None,
    );
    assert_eq!(other.json(), json!([]));
}

#[test]
fn a_duplicate_mr_is_409_with_an_array_message_and_missing_fields_are_400() {
    let forge = forge();
    open_mr(&forge);
    let again = gitlab(
        &forge,
        "POST",
        &format!("{PROJECT}/merge_requests"),
        Some(
            json!({"source_branch": "environment/dev-next", "target_branch": "environment/dev", "title": "Again"}),
        ),
    );
    assert_eq!(again.status, 409);
    assert_eq!(
        again.json(),
        json!({"message": ["Another open merge request already exists for this source branch: !1"]})
    );
    let missing = gitlab(
        &forge,
        "POST",
        &format!("{PROJECT}/merge_requests"),
        Some(json!({"source_branch": "environment/dev-next", "target_branch": "environment/dev"})),
    );
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json(), json!({"error": "title is missing"}));
}

#[test]
fn merging_checks_the_sha_guard_then_merges_from_a_form_body_and_refuses_a_second_time() {
    let forge = forge();
    open_mr(&forge);
    let merge = format!("{PROJECT}/merge_requests/1/merge");
    let moved = gitlab(
        &forge,
        "PUT",
        &merge,
        Some(json!({"sha": "0000000000000000000000000000000000000000"})),
    );
    assert_eq!(moved.status, 409);
    assert_eq!(
        moved.json()["message"],
        format!(
            "SHA does not match HEAD of source branch: {}",
            forge.staging
        )
    );
    let form = format!(
        "sha={}&merge_commit_message=Promote+by+hand&should_remove_source_branch=false",
        forge.staging
    );
    let merged = send_to(
        &forge.sandbox.gitlab_api_url(),
        "PUT",
        &merge,
        Some(("application/x-www-form-urlencoded", &form)),
        Auth::Bearer(TOKEN),
    );
    assert_eq!(merged.status, 200, "{}", merged.text);
    let value = merged.json();
    assert_eq!(value["state"], "merged");
    let merge_sha = Sha::parse(value["merge_commit_sha"].as_str().expect("sha")).expect("sha");
    assert_eq!(
        forge
            .sandbox
            .commit_message(OWNER, NAME, &merge_sha)
            .expect("message")
            .trim_end(),
        "Promote by hand"
    );
    let again = gitlab(&forge, "PUT", &merge, Some(json!({})));
    assert_eq!(again.status, 405);
    assert_eq!(again.json(), json!({"message": "405 Method Not Allowed"}));
}

#[test]
fn a_conflicting_mr_cannot_be_merged_406_and_shows_conflict() {
    let forge = forge();
    open_mr(&forge);
    forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev",
            &CommitSpec::new("hotfix").file("app.yaml", "v: hotfix\n"),
        )
        .expect("conflicting commit");
    let mr = gitlab(&forge, "GET", &format!("{PROJECT}/merge_requests/1"), None).json();
    assert_eq!(mr["detailed_merge_status"], "conflict");
    assert_eq!(mr["has_conflicts"], true);
    let refused = gitlab(
        &forge,
        "PUT",
        &format!("{PROJECT}/merge_requests/1/merge"),
        Some(json!({"sha": forge.staging.as_str()})),
    );
    assert_eq!(refused.status, 406);
    assert_eq!(
        refused.json(),
        json!({"message": "Branch cannot be merged"})
    );
}

#[test]
fn commit_statuses_follow_gitlabs_state_machine_and_vocabulary() {
    let forge = forge();
    let post = |state: &str| {
        gitlab(
            &forge,
            "POST",
            &format!("{PROJECT}/statuses/{}", forge.staging),
            Some(json!({"state": state, "name": "health", "description": "d"})),
        )
    };
    assert_eq!(post("pending").status, 201);
    let repeat = post("pending");
    assert_eq!(repeat.status, 400);
    assert!(
        repeat.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Cannot transition status via :enqueue from :pending")),
        "{}",
        repeat.text
    );
    assert_eq!(post("failed").status, 201);
    // A finished status is not reused: the same state again is a new status.
    assert_eq!(post("failed").status, 201);
    assert_eq!(
        post("bogus").json(),
        json!({"error": "state does not have a valid value"})
    );
    // The store keeps GitHub's words; GitLab shows its own.
    let stored = forge.sandbox.statuses(OWNER, NAME, &forge.staging);
    assert_eq!(stored[0].state, "failure");
    let listed = gitlab(
        &forge,
        "GET",
        &format!("{PROJECT}/repository/commits/{}/statuses", forge.staging),
        None,
    )
    .json();
    assert_eq!(listed.as_array().map(Vec::len), Some(1));
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["name"], "health");
}

#[test]
fn pipelines_for_a_sha_are_synthesized_from_its_statuses_worst_first() {
    let forge = forge();
    let pipelines = || {
        gitlab(
            &forge,
            "GET",
            &format!(
                "{PROJECT}/pipelines?sha={}&order_by=id&sort=desc&per_page=1",
                forge.staging
            ),
            None,
        )
        .json()
    };
    assert_eq!(pipelines(), json!([]));
    let set = |context: &str, state: &str| {
        forge
            .sandbox
            .set_status(OWNER, NAME, &forge.staging, context, state, "")
            .expect("status");
    };
    set("build", "success");
    assert_eq!(pipelines()[0]["status"], "success");
    set("health", "pending");
    assert_eq!(pipelines()[0]["status"], "pending");
    set("health", "failure");
    let newest = pipelines();
    assert_eq!(newest[0]["status"], "failed");
    assert_eq!(newest[0]["sha"], forge.staging.as_str());
}
