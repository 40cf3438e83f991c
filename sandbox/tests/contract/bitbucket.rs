//! The sandbox's Bitbucket Cloud dialect (`/2.0`) over real HTTP: access tokens and Basic auth
//! with the account's user name, the paged envelope with `next`, BBQL filters, 12-character hashes
//! in pull requests, the observed 400 bodies, the merge without a head guard (and its task status),
//! commit reads and build statuses overwritten per key.

use base64::Engine;
use serde_json::{Value, json};

use super::{Answer, Forge, TOKEN, forge, read};

const REPO: &str = "/2.0/repositories/acme/deploy";

enum Auth<'a> {
    Bearer(&'a str),
    Basic(&'a str, &'a str),
    None,
}

fn send(forge: &Forge, method: &str, path: &str, body: Option<Value>, auth: Auth<'_>) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = if path.starts_with("http") {
        path.to_owned()
    } else {
        format!("{}{path}", forge.sandbox.base_url())
    };
    let mut builder = ureq::http::Request::builder().method(method).uri(url);
    match auth {
        Auth::Bearer(token) => builder = builder.header("Authorization", format!("Bearer {token}")),
        Auth::Basic(user, password) => {
            let pair =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            builder = builder.header("Authorization", format!("Basic {pair}"));
        }
        Auth::None => {}
    }
    let response = match body {
        Some(body) => agent.run(
            builder
                .header("Content-Type", "application/json")
                .body(body.to_string())
                .expect("request"),
        ),
        None => agent.run(builder.body(()).expect("request")),
    }
    .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
    read(response)
}

fn call(forge: &Forge, method: &str, path: &str, body: Option<Value>) -> Answer {
    send(forge, method, path, body, Auth::Bearer(TOKEN))
}

fn open(forge: &Forge, source: &str, title: &str) -> Answer {
    call(
        forge,
        "POST",
        &format!("{REPO}/pullrequests"),
        Some(
            json!({"title": title, "source": {"branch": {"name": source}}, "destination": {"branch": {"name": "environment/dev"}}}),
        ),
    )
}

#[test]
fn access_tokens_are_bearer_and_basic_needs_the_accounts_user_name() {
    let forge = forge();
    let path = format!("{REPO}/pullrequests");
    assert_eq!(
        send(&forge, "GET", &path, None, Auth::Bearer(TOKEN)).status,
        200
    );
    assert_eq!(
        send(
            &forge,
            "GET",
            &path,
            None,
            Auth::Basic(sandbox::DEFAULT_USER, TOKEN)
        )
        .status,
        200
    );
    let wrong_user = send(&forge, "GET", &path, None, Auth::Basic("mallory", TOKEN));
    assert_eq!(wrong_user.status, 401);
    assert_eq!(wrong_user.json()["type"], "error");
    assert_eq!(
        send(&forge, "GET", &path, None, Auth::Bearer("nope")).status,
        401
    );
    // A private repository is not found by anonymous callers.
    let anonymous = send(&forge, "GET", &path, None, Auth::None);
    assert_eq!(anonymous.status, 404);
    assert!(anonymous.json()["error"]["message"].is_string());
}

#[test]
fn pull_requests_show_short_hashes_and_lists_page_with_next_and_filter_with_bbql() {
    let forge = forge();
    let created = open(&forge, "environment/dev-next", "promotion");
    assert_eq!(created.status, 201, "{}", created.text);
    let pull = created.json();
    assert_eq!(
        pull["source"]["commit"]["hash"],
        &forge.staging.as_str()[..12]
    );
    assert_eq!(pull["state"], "OPEN");
    assert_eq!(pull["source"]["repository"]["full_name"], "acme/deploy");
    for i in 0..6 {
        let name = format!("feature/{i}");
        forge
            .sandbox
            .create_branch("acme", "deploy", &name, "environment/dev-next")
            .unwrap();
        assert_eq!(open(&forge, &name, &format!("feature {i}")).status, 201);
    }
    let first = call(
        &forge,
        "GET",
        &format!("{REPO}/pullrequests?pagelen=5"),
        None,
    )
    .json();
    assert_eq!(
        (
            first["size"].as_u64(),
            first["values"].as_array().unwrap().len()
        ),
        (Some(7), 5)
    );
    let next = first["next"].as_str().expect("a next link");
    let second = call(&forge, "GET", next, None).json();
    assert_eq!(second["values"].as_array().unwrap().len(), 2);
    assert!(second.get("next").is_none());

    let query = "q=source.branch.name%20%3D%20%22environment%2Fdev-next%22%20AND%20destination.branch.name%20%3D%20%22environment%2Fdev%22";
    let found = call(
        &forge,
        "GET",
        &format!("{REPO}/pullrequests?state=OPEN&{query}"),
        None,
    )
    .json();
    let values = found["values"].as_array().unwrap();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0]["title"], "promotion");
    let bad = call(
        &forge,
        "GET",
        &format!("{REPO}/pullrequests?q=nope%20%3D%20%221%22"),
        None,
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn creates_and_updates_answer_the_observed_400s() {
    let forge = forge();
    let untitled = call(
        &forge,
        "POST",
        &format!("{REPO}/pullrequests"),
        Some(json!({"source": {"branch": {"name": "environment/dev-next"}}})),
    );
    assert_eq!(untitled.status, 400);
    assert_eq!(
        untitled.json()["error"]["fields"]["title"][0],
        "This field is required."
    );
    let empty = call(
        &forge,
        "POST",
        &format!("{REPO}/pullrequests"),
        Some(
            json!({"title": "t", "source": {"branch": {"name": "environment/dev"}}, "destination": {"branch": {"name": "main"}}}),
        ),
    );
    assert_eq!(
        (empty.status, empty.json()["error"]["message"].clone()),
        (400, json!("There are no changes to be pulled"))
    );
    assert_eq!(open(&forge, "environment/dev-next", "first").status, 201);
    assert_eq!(open(&forge, "environment/dev-next", "second").status, 400);

    let path = format!("{REPO}/pullrequests/1");
    let no_title = call(&forge, "PUT", &path, Some(json!({"description": "d"})));
    assert_eq!(no_title.status, 400);
    assert_eq!(
        no_title.json(),
        json!({"type": "error", "error": {"fields": {"title": ["This field is required."]}, "message": "title: This field is required."}})
    );
    let updated = call(
        &forge,
        "PUT",
        &path,
        Some(json!({"title": "new", "description": "text"})),
    );
    assert_eq!(updated.status, 200);
    assert_eq!(
        (
            updated.json()["title"].clone(),
            updated.json()["description"].clone()
        ),
        (json!("new"), json!("text"))
    );
}

#[test]
fn a_merge_takes_no_head_guard_and_its_commit_and_task_are_readable() {
    let forge = forge();
    assert_eq!(
        open(&forge, "environment/dev-next", "promotion").status,
        201
    );
    let merged = call(
        &forge,
        "POST",
        &format!("{REPO}/pullrequests/1/merge?async=true"),
        Some(
            json!({"type": "pullrequest_merge_parameters", "merge_strategy": "merge_commit", "message": "Promote\n\nbody"}),
        ),
    );
    assert_eq!(merged.status, 202, "{}", merged.text);
    let location = merged
        .header("location")
        .expect("a task to poll")
        .to_owned();
    assert!(
        location.ends_with("/pullrequests/1/merge/task-status/merge-1"),
        "{location}"
    );
    let task = call(&forge, "GET", &location, None).json();
    assert_eq!(task["task_status"], "SUCCESS");
    let result = &task["merge_result"];
    assert_eq!(result["state"], "MERGED");
    let short = result["merge_commit"]["hash"].as_str().unwrap();
    assert_eq!(short.len(), 12);

    let commit = call(&forge, "GET", &format!("{REPO}/commit/{short}"), None).json();
    let parents: Vec<&str> = commit["parents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["hash"].as_str().unwrap())
        .collect();
    assert_eq!(parents, [forge.live.as_str(), forge.staging.as_str()]);
    assert!(commit["hash"].as_str().unwrap().starts_with(short));
    assert!(
        commit["message"]
            .as_str()
            .unwrap()
            .starts_with("Promote\n\nbody")
    );
    let again = call(
        &forge,
        "POST",
        &format!("{REPO}/pullrequests/1/merge"),
        Some(json!({})),
    );
    assert_eq!(again.status, 400, "a merged PR is not open");
    assert_eq!(
        call(&forge, "GET", &format!("{REPO}/commit/0123456789ab"), None).status,
        404
    );
}

#[test]
fn a_build_status_is_overwritten_per_key_and_needs_a_url() {
    let forge = forge();
    let sha = forge.staging.as_str();
    let path = format!("{REPO}/commit/{sha}/statuses/build");
    let post = |state: &str, url: Option<&str>| {
        let mut body = json!({"key": "scan", "state": state, "description": state});
        if let Some(url) = url {
            body["url"] = json!(url);
        }
        call(&forge, "POST", &path, Some(body))
    };
    assert_eq!(post("INPROGRESS", None).status, 400);
    assert_eq!(post("DONE", Some("https://ci.example/1")).status, 400);
    assert_eq!(post("INPROGRESS", Some("https://ci.example/1")).status, 201);
    let last = post("STOPPED", Some("https://ci.example/2"));
    assert_eq!(last.status, 201);
    assert_eq!(last.json()["state"], "STOPPED");
    let list = call(
        &forge,
        "GET",
        &format!("{REPO}/commit/{sha}/statuses"),
        None,
    )
    .json();
    let values = list["values"].as_array().unwrap();
    assert_eq!(values.len(), 1, "one per key");
    assert_eq!(
        (values[0]["state"].clone(), values[0]["url"].clone()),
        (json!("STOPPED"), json!("https://ci.example/2"))
    );
    assert_eq!(
        forge.sandbox.statuses("acme", "deploy", &forge.staging)[0].state,
        "error"
    );
}
