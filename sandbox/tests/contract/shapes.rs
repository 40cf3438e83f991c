//! Response bodies carry the keys and value types of GitHub's official examples
//! (tests/fixtures/scm/github), so a client written against GitHub reads them unchanged.

use std::path::PathBuf;

use serde_json::Value;

use super::{api, forge, open_dev_pull, repo_path};

pub(super) fn fixture(name: &str) -> Value {
    // The repository's copies, shared with promoter's client tests (one level up from sandbox/).
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/scm/github")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    serde_json::from_str(&text).expect("fixture is JSON")
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key of `expected` is in `actual` with the same JSON type (null on either side is allowed:
/// the fields are nullable). Objects nest; arrays compare their first items when both have one.
pub(super) fn assert_same_shape(expected: &Value, actual: &Value, at: &str) {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => {
            for (key, value) in want {
                let Some(got) = have.get(key) else {
                    panic!("{at}.{key} is missing");
                };
                assert_same_shape(value, got, &format!("{at}.{key}"));
            }
        }
        (Value::Array(want), Value::Array(have)) => {
            if let (Some(want), Some(have)) = (want.first(), have.first()) {
                assert_same_shape(want, have, &format!("{at}[0]"));
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (want, have) => assert_eq!(kind(want), kind(have), "{at} has another type"),
    }
}

#[test]
fn a_listed_pull_request_has_every_key_and_type_of_githubs_example() {
    let forge = forge();
    open_dev_pull(&forge);
    let listed = api(&forge, "GET", &repo_path("/pulls"), None).json();
    assert_same_shape(&fixture("pulls-list.json")[0], &listed[0], "pull");
    // The fields promoter reads are never null on an open PR.
    for pointer in [
        "/number",
        "/html_url",
        "/url",
        "/title",
        "/body",
        "/state",
        "/head/ref",
        "/head/sha",
        "/head/label",
        "/head/repo/full_name",
        "/head/repo/id",
        "/base/ref",
        "/base/sha",
        "/user/login",
    ] {
        assert!(
            !listed[0].pointer(pointer).unwrap_or(&Value::Null).is_null(),
            "{pointer}"
        );
    }
}

#[test]
fn a_single_pull_request_has_every_key_and_type_of_githubs_example() {
    let forge = forge();
    let number = open_dev_pull(&forge);
    let pull = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_same_shape(&fixture("pull-create.json"), &pull, "pull");
}

#[test]
fn status_bodies_have_every_key_and_type_of_githubs_examples() {
    let forge = forge();
    let sha = forge.staging.as_str();
    let created = api(
        &forge,
        "POST",
        &repo_path(&format!("/statuses/{sha}")),
        Some(r#"{"state":"success","context":"ci","description":"ok","target_url":"https://ci"}"#),
    )
    .json();
    assert_same_shape(&fixture("status-create.json"), &created, "status");
    let listed = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{sha}/statuses")),
        None,
    )
    .json();
    assert_same_shape(&fixture("statuses-list.json"), &listed, "statuses");
    let combined = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{sha}/status")),
        None,
    )
    .json();
    assert_same_shape(&fixture("combined-status.json"), &combined, "combined");
}

#[test]
fn check_run_and_merge_bodies_have_every_key_and_type_of_githubs_examples() {
    let forge = forge();
    forge
        .sandbox
        .set_check_run("acme", "deploy", &forge.staging, "build", Some("success"))
        .expect("run");
    let runs = api(
        &forge,
        "GET",
        &repo_path(&format!("/commits/{}/check-runs", forge.staging)),
        None,
    )
    .json();
    let mut expected = fixture("check-runs-list.json");
    // The example's run lists a PR; the sandbox does not link runs to PRs (an empty list).
    expected["check_runs"][0]["pull_requests"] = Value::Array(Vec::new());
    // `app.permissions` is a map of whatever the app was granted, not a fixed set of keys.
    expected["check_runs"][0]["app"]["permissions"] = serde_json::json!({});
    assert_same_shape(&expected, &runs, "check-runs");
    let number = open_dev_pull(&forge);
    let merged = api(
        &forge,
        "PUT",
        &repo_path(&format!("/pulls/{number}/merge")),
        Some("{}"),
    )
    .json();
    assert_same_shape(&fixture("pull-merge.json"), &merged, "merge");
    let not_mergeable = api(
        &forge,
        "PUT",
        &repo_path(&format!("/pulls/{number}/merge")),
        Some("{}"),
    )
    .json();
    assert_same_shape(&fixture("pull-merge-405.json"), &not_mergeable, "merge-405");
}
