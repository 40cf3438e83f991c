//! PR labels (`Sandbox::set_pull_labels`) as each dialect that has them shows them on a PR read and
//! listed: GitHub and Gitea/Forgejo label objects, GitLab name strings, Azure DevOps tags (left out
//! when there are none). Bitbucket Cloud and Data Center PRs have no labels.

use serde_json::{Value, json};

use super::gitlab::{Auth, send_to};
use super::shapes::{assert_same_shape, fixture};
use super::{Forge, NAME, OWNER, TOKEN, api, exchange, forge, open_dev_pull, repo_path};

const HOLD: &str = "promoter:hold";

/// The forge with the dev promotion PR open and labelled `promoter:hold` and `team/a`.
fn labelled() -> (Forge, u64) {
    let forge = forge();
    let number = open_dev_pull(&forge);
    forge
        .sandbox
        .set_pull_labels(OWNER, NAME, number, &[HOLD, "team/a"])
        .expect("labels");
    (forge, number)
}

fn names(labels: &Value, key: Option<&str>) -> Vec<String> {
    labels
        .as_array()
        .unwrap_or_else(|| panic!("labels are an array: {labels}"))
        .iter()
        .map(|label| {
            key.map_or(label, |key| &label[key])
                .as_str()
                .unwrap_or_else(|| panic!("a label name: {label}"))
                .to_owned()
        })
        .collect()
}

#[test]
fn github_pulls_carry_label_objects_of_githubs_shape_listed_and_read() {
    let (forge, number) = labelled();
    let one = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    let listed = api(&forge, "GET", &repo_path("/pulls"), None).json();
    let example = &fixture("pulls-list.json")[0]["labels"][0];
    for labels in [&one["labels"], &listed[0]["labels"]] {
        assert_eq!(names(labels, Some("name")), [HOLD, "team/a"]);
        assert_same_shape(example, &labels[0], "label");
    }
    // The same name is the same label: one id across answers, another for another name.
    assert_eq!(one["labels"][0]["id"], listed[0]["labels"][0]["id"]);
    assert_ne!(one["labels"][0]["id"], one["labels"][1]["id"]);
    forge
        .sandbox
        .set_pull_labels(OWNER, NAME, number, &[])
        .expect("unlabelled");
    let one = api(&forge, "GET", &repo_path(&format!("/pulls/{number}")), None).json();
    assert_eq!(one["labels"], json!([]));
}

#[test]
fn gitea_pulls_carry_swagger_label_objects() {
    let (forge, number) = labelled();
    let gitea = |path: &str| {
        let builder = ureq::http::Request::builder()
            .method("GET")
            .uri(format!("{}{path}", forge.sandbox.gitea_api_url()))
            .header("Authorization", format!("token {TOKEN}"));
        let answer = exchange(builder, None);
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        answer.json()
    };
    let one = gitea(&repo_path(&format!("/pulls/{number}")));
    let listed = gitea(&repo_path("/pulls?state=open"));
    for labels in [&one["labels"], &listed[0]["labels"]] {
        assert_eq!(names(labels, Some("name")), [HOLD, "team/a"]);
        let keys: Vec<&str> = labels[0]
            .as_object()
            .expect("a label object")
            .keys()
            .map(String::as_str)
            .collect();
        for key in [
            "id",
            "name",
            "exclusive",
            "is_archived",
            "color",
            "description",
            "url",
        ] {
            assert!(keys.contains(&key), "{key} missing from {}", labels[0]);
        }
        assert!(labels[0]["id"].is_u64(), "{}", labels[0]);
    }
}

#[test]
fn gitlab_merge_requests_carry_label_names_as_strings() {
    let (forge, number) = labelled();
    let gitlab = |path: &str| {
        let answer = send_to(
            &forge.sandbox.gitlab_api_url(),
            "GET",
            path,
            None,
            Auth::PrivateToken(TOKEN),
        );
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        answer.json()
    };
    let project = "/projects/acme%2Fdeploy";
    let one = gitlab(&format!("{project}/merge_requests/{number}"));
    let listed = gitlab(&format!("{project}/merge_requests?state=opened"));
    for labels in [&one["labels"], &listed[0]["labels"]] {
        assert_eq!(names(labels, None), [HOLD, "team/a"]);
    }
}

#[test]
fn azure_devops_pulls_carry_tags_as_labels_and_none_when_untagged() {
    let (forge, number) = labelled();
    let repo = super::azure::repo();
    let one = super::azure::azure(
        &forge,
        "GET",
        &format!("{repo}/pullrequests/{number}?api-version=7.1"),
        None,
    )
    .json();
    let listed = super::azure::azure(
        &forge,
        "GET",
        &format!(
            "{repo}/pullrequests?searchCriteria.targetRefName=refs/heads/environment/dev&api-version=7.1"
        ),
        None,
    )
    .json();
    for labels in [&one["labels"], &listed["value"][0]["labels"]] {
        assert_eq!(names(labels, Some("name")), [HOLD, "team/a"]);
        assert_eq!(labels[0]["active"], json!(true), "{labels}");
        assert!(labels[0]["id"].is_string(), "{labels}");
    }
    forge
        .sandbox
        .set_pull_labels(OWNER, NAME, number, &[])
        .expect("untagged");
    let one = super::azure::azure(
        &forge,
        "GET",
        &format!("{repo}/pullrequests/{number}?api-version=7.1"),
        None,
    )
    .json();
    assert!(one.get("labels").is_none(), "{one}");
}
