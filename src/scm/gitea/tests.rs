//! Wire-format tests over the Gitea payloads in tests/fixtures/scm/gitea (every file), and the
//! classification of merge refusals. The client against the sandbox's Gitea dialect is in
//! `sandbox_tests.rs`.

use serde_json::{Value, json};

use super::wire::{self, CombinedStatus, CommitStatus, MergePull, Pull, reduce};
use super::*;
use crate::model::GateState;
use crate::scm::shared::WirePull;

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!("../../../tests/fixtures/scm/gitea/", $name))
    };
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

#[test]
fn a_pull_request_payload_maps_to_the_domain_pr() {
    let pull: Pull = serde_json::from_str(fixture!("pull.go-scm.json")).unwrap();
    assert!(pull.is_open());
    assert!(!pull.merged);
    assert_eq!(pull.merge_commit_sha, None);
    let pr = pull.into_domain().unwrap();
    assert_eq!(pr.number, PrNumber(1));
    assert_eq!(pr.url, "https://try.gitea.io/jcitizen/my-repo/pulls/1");
    assert_eq!(pr.title, "Add License File");
    assert_eq!(pr.body, "Using a BSD License");
    assert_eq!(
        pr.head_sha.as_str(),
        "4f5e7d8f15cf79387cfd8a0d30c58855ab61e138"
    );
    assert_eq!(pr.head_branch, branch("feature"));
    assert_eq!(pr.base_branch, branch("master"));
    assert_eq!(pr.labels, Vec::<String>::new());
}

#[test]
fn a_pull_requests_labels_map_to_their_names() {
    let mut value: Value = serde_json::from_str(fixture!("pull.go-scm.json")).unwrap();
    value["labels"] = json!([
        {"id": 4, "name": "promoter:hold", "exclusive": false, "is_archived": false, "color": "e11d21", "description": "", "url": "https://try.gitea.io/api/v1/repos/jcitizen/my-repo/labels/4"},
        {"id": 5, "name": "infra", "color": "207de5", "description": "", "url": ""}
    ]);
    let pr = serde_json::from_value::<Pull>(value)
        .unwrap()
        .into_domain()
        .unwrap();
    assert_eq!(pr.labels, ["promoter:hold", "infra"]);
}

#[test]
fn the_pull_list_payload_is_filtered_on_branches_and_repository() {
    let pulls: Vec<Pull> = serde_json::from_str(fixture!("pulls-list.go-scm.json")).unwrap();
    assert_eq!(pulls.len(), 1);
    let pull = &pulls[0];
    assert!(pull.is_promotion_pr("jcitizen/my-repo", &branch("feature"), &branch("master")));
    // Owner and repository names are case-insensitive on Gitea.
    assert!(pull.is_promotion_pr("JCitizen/My-Repo", &branch("feature"), &branch("master")));
    assert!(!pull.is_promotion_pr("mallory/my-repo", &branch("feature"), &branch("master")));
    assert!(!pull.is_promotion_pr("jcitizen/my-repo", &branch("feature"), &branch("main")));
    assert!(!pull.is_promotion_pr("jcitizen/my-repo", &branch("other"), &branch("master")));
}

#[test]
fn a_forks_pull_request_is_never_the_environments() {
    let mut value: Value = serde_json::from_str(fixture!("pull.go-scm.json")).unwrap();
    value["head"]["repo"]["full_name"] = json!("mallory/my-repo");
    let pull: Pull = serde_json::from_value(value.clone()).unwrap();
    assert!(!pull.is_promotion_pr("jcitizen/my-repo", &branch("feature"), &branch("master")));
    // A deleted fork shows `head.repo: null`.
    value["head"]["repo"] = Value::Null;
    let pull: Pull = serde_json::from_value(value).unwrap();
    assert!(!pull.is_promotion_pr("jcitizen/my-repo", &branch("feature"), &branch("master")));
}

#[test]
fn a_closed_pull_request_in_a_list_is_not_the_open_one() {
    let mut value: Value = serde_json::from_str(fixture!("pull.go-scm.json")).unwrap();
    value["state"] = json!("closed");
    let pull: Pull = serde_json::from_value(value).unwrap();
    assert!(!pull.is_promotion_pr("jcitizen/my-repo", &branch("feature"), &branch("master")));
}

#[test]
fn a_commit_status_answer_carries_its_state_under_status() {
    let status: CommitStatus = serde_json::from_str(fixture!("commit-status.go-scm.json")).unwrap();
    assert_eq!(status.status, "success");
    assert_eq!(status.context, "continuous-integration/drone");
    assert_eq!(status.id, 1);
    assert_eq!(status.target_url.as_deref(), Some("https://example.com"));
}

#[test]
fn a_status_list_payload_reduces_to_reports() {
    let statuses: Vec<CommitStatus> =
        serde_json::from_str(fixture!("commit-statuses.go-scm.json")).unwrap();
    assert_eq!(
        wire::reduce(statuses),
        [StatusReport {
            name: "continuous-integration/drone".into(),
            state: GateState::Success,
            description: String::new(),
            target_url: Some("https://example.com".into()),
            description_fixed: false,
        }]
    );
}

#[test]
fn the_combined_status_payload_decodes_to_its_latest_statuses() {
    // promoter's gate read: the combined status, whose entries have the list's shape.
    let combined: CombinedStatus =
        serde_json::from_str(fixture!("combined-status.assembled.json")).unwrap();
    let statuses = combined.statuses.unwrap();
    assert_eq!(statuses.len(), 1);
    assert_eq!(statuses[0].status, "success");
    let reports = reduce(statuses);
    assert_eq!(reports[0].state, GateState::Success);
}

#[test]
fn gitea_states_map_per_spec() {
    use GateState::*;
    for (state, expected) in [
        ("success", Success),
        ("warning", Success),
        ("failure", Failure),
        ("error", Failure),
        ("pending", Pending),
        ("", Pending),
        ("skipped", Pending),
    ] {
        assert_eq!(wire::status_state(state), expected, "{state}");
    }
}

#[test]
fn the_newest_status_per_context_is_the_highest_id_whatever_the_order() {
    let status = |id: u64, context: &str, state: &str| CommitStatus {
        id,
        status: state.into(),
        context: context.into(),
        description: Some(format!("#{id}")),
        target_url: Some(String::new()),
    };
    let reports = wire::reduce(vec![
        status(3, "health", "failure"),
        status(9, "health", "success"),
        status(1, "ci", "pending"),
        status(4, "ci", "error"),
        status(2, "Health", "pending"),
    ]);
    let seen: Vec<(&str, GateState, &str)> = reports
        .iter()
        .map(|r| (r.name.as_str(), r.state, r.description.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            ("Health", GateState::Pending, "#2"),
            ("ci", GateState::Failure, "#4"),
            ("health", GateState::Success, "#9"),
        ]
    );
    assert!(reports.iter().all(|r| r.target_url.is_none()));
}

#[test]
fn the_merge_body_sends_the_guard_and_both_spellings_of_the_text() {
    let head = Sha::parse("4f5e7d8f15cf79387cfd8a0d30c58855ab61e138").unwrap();
    let body =
        serde_json::to_value(MergePull::merge_commit("Promote", "body\n\nA: b", &head)).unwrap();
    assert_eq!(
        body,
        json!({
            "Do": "merge",
            "MergeTitleField": "Promote",
            "MergeMessageField": "body\n\nA: b",
            "merge_title_field": "Promote",
            "merge_message_field": "body\n\nA: b",
            "head_commit_id": "4f5e7d8f15cf79387cfd8a0d30c58855ab61e138",
            "delete_branch_after_merge": false
        })
    );
}

#[test]
fn create_edit_and_status_bodies_use_the_option_field_names() {
    let create = crate::scm::shared::CreateHtmlPull {
        head: "environment/dev-next",
        base: "environment/dev",
        title: "t",
        body: "b",
    };
    assert_eq!(
        serde_json::to_value(create).unwrap(),
        json!({"head": "environment/dev-next", "base": "environment/dev", "title": "t", "body": "b"})
    );
    let status = wire::CreateStatus {
        state: "pending",
        context: "promoter-previous-environment",
        description: "waiting",
        target_url: None,
    };
    assert_eq!(
        serde_json::to_value(status).unwrap(),
        json!({"state": "pending", "context": "promoter-previous-environment", "description": "waiting"})
    );
}

#[test]
fn a_405_reason_names_merge_commits_when_the_style_is_disallowed() {
    let reason = refusal_405(
        Flavor::Forgejo,
        "merge is not allowed an allowed merge style for this repository",
    );
    assert!(reason.contains("promoter needs"), "{reason}");
    assert!(reason.contains("Forgejo said"), "{reason}");
    assert!(
        refusal_405(Flavor::Gitea, "Please try again later").contains("not in a mergeable state")
    );
    assert_eq!(
        refusal_405(Flavor::Gitea, ""),
        "Gitea refused the merge (405) without a reason"
    );
    assert_eq!(
        refusal_405(Flavor::Gitea, "User not allowed to merge PR"),
        "Gitea refused the merge: User not allowed to merge PR"
    );
}
