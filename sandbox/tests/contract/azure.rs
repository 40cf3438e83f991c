//! The sandbox's Azure DevOps dialect over real HTTP: `api-version`, Basic auth with an empty user
//! name, 401 versus the 203 sign-in page, Azure's error envelope, the PR search and its
//! description cut, TF401179, the completion guard (400 without `lastMergeSourceCommit`, 409
//! TF401192 when stale), commit statuses with genres and `latestOnly`, and git over `_git`.

use std::process::Command;

use base64::Engine;
use sandbox::AZURE_ORGANIZATION;
use serde_json::{Value, json};

use super::shapes::assert_same_shape;
use super::{Answer, Forge, NAME, OWNER, TOKEN, exchange, forge};

pub(super) fn repo() -> String {
    format!("/{AZURE_ORGANIZATION}/{OWNER}/_apis/git/repositories/{NAME}")
}

/// A request with `Authorization: Basic base64(":" + password)` (none when `None`) and, when
/// `suppress`, `X-TFS-FedAuthRedirect: Suppress`.
fn send(
    forge: &Forge,
    method: &str,
    path: &str,
    body: Option<&Value>,
    password: Option<&str>,
    suppress: bool,
) -> Answer {
    let mut builder = ureq::http::Request::builder()
        .method(method)
        .uri(format!("{}{path}", forge.sandbox.azure_api_url()));
    if let Some(password) = password {
        let pair = base64::engine::general_purpose::STANDARD.encode(format!(":{password}"));
        builder = builder.header("Authorization", format!("Basic {pair}"));
    }
    if suppress {
        builder = builder.header("X-TFS-FedAuthRedirect", "Suppress");
    }
    let text = body.map(Value::to_string);
    exchange(builder, text.as_deref().map(|t| ("application/json", t)))
}

pub(super) fn azure(forge: &Forge, method: &str, path: &str, body: Option<Value>) -> Answer {
    send(forge, method, path, body.as_ref(), Some(TOKEN), true)
}

fn open(forge: &Forge, description: &str) -> u64 {
    let answer = azure(
        forge,
        "POST",
        &format!("{}/pullrequests?api-version=7.1", repo()),
        Some(json!({
            "sourceRefName": "refs/heads/environment/dev-next",
            "targetRefName": "refs/heads/environment/dev",
            "title": "Promote",
            "description": description,
        })),
    );
    assert_eq!(answer.status, 201, "{}", answer.text);
    answer.json()["pullRequestId"].as_u64().expect("an id")
}

#[test]
fn every_call_needs_an_api_version_and_a_credential() {
    let forge = forge();
    let list = format!("{}/pullrequests", repo());
    let answer = azure(&forge, "GET", &list, None);
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["typeKey"], "VssVersionNotSpecifiedException");
    let versioned = format!("{list}?api-version=7.1");
    let refused = send(&forge, "GET", &versioned, None, Some("wrong"), true);
    assert_eq!(refused.status, 401);
    let page = send(&forge, "GET", &versioned, None, None, false);
    assert_eq!(page.status, 203);
    assert!(
        page.header("content-type")
            .unwrap_or_default()
            .starts_with("text/html")
    );
    assert!(page.text.contains("Sign In"));
    let other =
        format!("/elsewhere/{OWNER}/_apis/git/repositories/{NAME}/pullrequests?api-version=7.1");
    let missing = azure(&forge, "GET", &other, None);
    assert_eq!(missing.status, 404);
    assert!(
        missing.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF401019")
    );
}

#[test]
fn the_search_filters_by_full_refs_and_cuts_descriptions_in_lists() {
    let forge = forge();
    let long = "x".repeat(450);
    let id = open(&forge, &long);
    let search = |source: &str, status: &str| {
        azure(
            &forge,
            "GET",
            &format!(
                "{}/pullrequests?searchCriteria.sourceRefName={source}&searchCriteria.targetRefName=refs%2Fheads%2Fenvironment%2Fdev&searchCriteria.status={status}&$top=100&$skip=0&api-version=7.1",
                repo()
            ),
            None,
        )
        .json()
    };
    let found = search("refs%2Fheads%2Fenvironment%2Fdev-next", "active");
    assert_eq!(found["count"], 1);
    let item = &found["value"][0];
    assert_eq!(item["pullRequestId"], id);
    assert_eq!(item["description"].as_str().unwrap().chars().count(), 400);
    assert_eq!(
        item["lastMergeSourceCommit"]["commitId"],
        forge.staging.as_str()
    );
    assert_eq!(
        search("environment%2Fdev-next", "active")["count"],
        0,
        "short names match nothing"
    );
    assert_eq!(
        search("refs%2Fheads%2Fenvironment%2Fdev-next", "completed")["count"],
        0
    );
    let whole = azure(
        &forge,
        "GET",
        &format!("{}/pullrequests/{id}?api-version=7.1", repo()),
        None,
    );
    assert_eq!(whole.json()["description"].as_str().unwrap(), long);
}

#[test]
fn a_second_active_pr_is_refused_with_tf401179() {
    let forge = forge();
    open(&forge, "first");
    let answer = azure(
        &forge,
        "POST",
        &format!("{}/pullrequests?api-version=7.1", repo()),
        Some(json!({
            "sourceRefName": "refs/heads/environment/dev-next",
            "targetRefName": "refs/heads/environment/dev",
            "title": "again",
        })),
    );
    assert_eq!(answer.status, 409);
    assert!(
        answer.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF401179:")
    );
}

#[test]
fn completion_needs_the_current_source_commit() {
    let forge = forge();
    let id = open(&forge, "");
    let path = format!("{}/pullrequests/{id}?api-version=7.1", repo());
    let missing = azure(&forge, "PATCH", &path, Some(json!({"status": "completed"})));
    assert_eq!(missing.status, 400);
    assert_eq!(missing.json()["typeKey"], "InvalidArgumentValueException");
    assert!(
        missing.json()["message"]
            .as_str()
            .unwrap()
            .contains("LastMergeSourceCommit")
    );
    let stale = azure(
        &forge,
        "PATCH",
        &path,
        Some(
            json!({"status": "completed", "lastMergeSourceCommit": {"commitId": forge.live.as_str()}}),
        ),
    );
    assert_eq!(stale.status, 409);
    assert!(
        stale.json()["message"]
            .as_str()
            .unwrap()
            .starts_with("TF401192:")
    );
    let done = azure(
        &forge,
        "PATCH",
        &path,
        Some(json!({
            "status": "completed",
            "lastMergeSourceCommit": {"commitId": forge.staging.as_str()},
            "completionOptions": {"mergeStrategy": "noFastForward", "mergeCommitMessage": "Promote v2\n\nbody"},
        })),
    );
    assert_eq!(done.status, 200, "{}", done.text);
    let pull = done.json();
    assert_eq!(pull["status"], "completed");
    let merge = pull["lastMergeCommit"]["commitId"]
        .as_str()
        .unwrap()
        .to_owned();
    let tip = forge
        .sandbox
        .branch_tip(OWNER, NAME, "environment/dev")
        .unwrap()
        .unwrap();
    assert_eq!(tip.as_str(), merge);
    let parents = forge.sandbox.parents(OWNER, NAME, &merge).unwrap();
    assert_eq!(parents.len(), 2);
    assert_eq!(
        forge
            .sandbox
            .commit_message(OWNER, NAME, &merge)
            .unwrap()
            .trim_end(),
        "Promote v2\n\nbody"
    );
}

#[test]
fn a_queued_completion_shows_active_until_the_reads_are_used_up() {
    let forge = forge();
    forge.sandbox.set_azure_queued_reads(2);
    let id = open(&forge, "");
    let path = format!("{}/pullrequests/{id}?api-version=7.1", repo());
    let answer = azure(
        &forge,
        "PATCH",
        &path,
        Some(
            json!({"status": "completed", "lastMergeSourceCommit": {"commitId": forge.staging.as_str()}}),
        ),
    );
    assert_eq!(answer.json()["status"], "active");
    assert!(answer.json()["completionQueueTime"].is_string());
    assert_eq!(azure(&forge, "GET", &path, None).json()["status"], "active");
    assert_eq!(
        azure(&forge, "GET", &path, None).json()["status"],
        "completed"
    );
}

#[test]
fn statuses_keep_their_genre_and_latest_only_keeps_the_newest_per_genre_and_name() {
    let forge = forge();
    let path = format!(
        "{}/commits/{}/statuses?api-version=7.1",
        repo(),
        forge.staging.as_str()
    );
    for (state, genre) in [
        ("pending", "promoter"),
        ("succeeded", "promoter"),
        ("failed", "ci"),
    ] {
        let answer = azure(
            &forge,
            "POST",
            &path,
            Some(
                json!({"state": state, "description": state, "context": {"name": "health", "genre": genre}}),
            ),
        );
        assert_eq!(answer.status, 201, "{}", answer.text);
    }
    let bad = azure(
        &forge,
        "POST",
        &path,
        Some(json!({"state": "success", "context": {"name": "x"}})),
    );
    assert_eq!(bad.status, 400);
    let all = azure(&forge, "GET", &path, None).json();
    assert_eq!(all["count"], 3);
    let latest = azure(
        &forge,
        "GET",
        &format!(
            "{}/commits/{}/statuses?latestOnly=true&api-version=7.1",
            repo(),
            forge.staging.as_str()
        ),
        None,
    )
    .json();
    let got: Vec<(String, String)> = latest["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["context"]["genre"].as_str().unwrap().to_owned(),
                s["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("ci".to_owned(), "failed".to_owned()),
            ("promoter".to_owned(), "succeeded".to_owned())
        ]
    );
}

#[test]
fn git_clones_from_the_repositorys_git_url() {
    let forge = forge();
    let home = tempfile::tempdir().expect("home");
    let url = forge.sandbox.azure_clone_url(OWNER, NAME);
    assert!(url.ends_with("/sandbox/acme/_git/deploy"), "{url}");
    let output = Command::new("git")
        .current_dir(home.path())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .args([
            "-c",
            &format!(
                "credential.helper=!f() {{ echo username=anyone; echo password={TOKEN}; }}; f"
            ),
            "ls-remote",
            &url,
            "refs/heads/environment/dev-next",
        ])
        .output()
        .expect("git runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.starts_with(forge.staging.as_str()), "{stdout}");
}

fn fixture(name: &str) -> Value {
    // The repository's copies, shared with promoter's client tests (one level up from sandbox/).
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/scm/azure-devops")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

#[test]
fn answers_carry_every_key_and_type_of_the_official_examples() {
    let forge = forge();
    let id = open(&forge, "described");
    let one = azure(
        &forge,
        "GET",
        &format!("{}/pullrequests/{id}?api-version=7.1", repo()),
        None,
    );
    assert_same_shape(&fixture("pull-create.json"), &one.json(), "pull");
    let listed = azure(
        &forge,
        "GET",
        &format!("{}/pullrequests?api-version=7.1", repo()),
        None,
    );
    let mut example = fixture("pulls-list-by-target.json");
    // An active PR has no merge commit yet; the example's is a test merge.
    example["value"][0]
        .as_object_mut()
        .unwrap()
        .remove("lastMergeCommit");
    assert_same_shape(&example, &listed.json(), "list");
    let path = format!(
        "{}/commits/{}/statuses?api-version=7.1",
        repo(),
        forge.staging.as_str()
    );
    let created = azure(
        &forge,
        "POST",
        &path,
        Some(fixture("commit-status-create.request.json")),
    );
    assert_same_shape(
        &fixture("commit-status-create.json"),
        &created.json(),
        "status",
    );
    let statuses = azure(&forge, "GET", &path, None);
    assert_same_shape(
        &fixture("commit-statuses-list.json"),
        &statuses.json(),
        "statuses",
    );
}
