//! GitHub REST v3 wire shapes (API version 2022-11-28) and their mapping to domain types: what
//! promoter reads from and writes to GitHub, and nothing else. No I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::{BranchName, GateState};
use crate::scm::shared::{HtmlPull, WirePull};
use crate::scm::{PullRequest, StatusReport};

/// A pull request: `pull-request-simple` (list) or `pull-request` (get, create, update).
#[derive(Debug, Deserialize)]
pub(super) struct Pull {
    /// Number, page, text, head and base (`head.repo` is the fork for a fork's PR, docs
    /// pulls/list).
    #[serde(flatten)]
    pub pull: HtmlPull,
    /// Only in the full `pull-request` shape.
    #[serde(default)]
    pub merged: Option<bool>,
    /// Removed in API version 2026-03-10 (rest-api-description CHANGELOG); optional here.
    #[serde(default)]
    pub merge_commit_sha: Option<String>,
}

impl Pull {
    /// Head and base are these branches and both live in `full_name` (never a fork's PR).
    pub(super) fn is_promotion_pr(
        &self,
        full_name: &str,
        head: &BranchName,
        base: &BranchName,
    ) -> bool {
        self.pull.is_between(full_name, head, base)
    }
}

impl WirePull for Pull {
    fn number(&self) -> u64 {
        self.pull.number
    }

    fn into_domain(self) -> Result<PullRequest, String> {
        self.pull.into_domain()
    }
}

/// `PUT /repos/{owner}/{repo}/pulls/{pull_number}/merge`, 200.
#[derive(Debug, Deserialize)]
pub(super) struct MergeResult {
    pub sha: Option<String>,
}

/// One commit status (`status` in the spec): list items, combined-status items, create answer.
#[derive(Debug, Deserialize)]
pub(super) struct CommitStatus {
    pub state: String,
    pub context: String,
    pub description: Option<String>,
    pub target_url: Option<String>,
    pub created_at: Option<String>,
    pub updated_at: Option<String>,
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`, 200.
#[derive(Debug, Deserialize)]
pub(super) struct CheckRuns {
    pub check_runs: Vec<CheckRun>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckRun {
    pub name: String,
    pub status: String,
    pub conclusion: Option<String>,
    pub started_at: Option<String>,
    pub completed_at: Option<String>,
    pub html_url: Option<String>,
    pub details_url: Option<String>,
    pub output: Option<CheckOutput>,
}

#[derive(Debug, Deserialize)]
pub(super) struct CheckOutput {
    pub title: Option<String>,
}

/// pulls/merge request body.
#[derive(Debug, Serialize)]
pub(super) struct MergePull<'a> {
    pub commit_title: &'a str,
    pub commit_message: &'a str,
    /// "SHA that pull request head must match to allow merge" (docs pulls/merge).
    pub sha: &'a str,
    pub merge_method: &'static str,
}

/// repos/create-commit-status request body.
#[derive(Debug, Serialize)]
pub(super) struct CreateStatus<'a> {
    pub state: &'static str,
    pub description: &'a str,
    pub context: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_url: Option<&'a str>,
}

/// docs/design.md §4.1 for a commit status: `success`; `failure`/`error`; anything else pending.
pub(super) fn status_state(state: &str) -> GateState {
    match state {
        "success" => GateState::Success,
        "failure" | "error" => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// docs/design.md §4.1 for a check run: only a `completed` run has a meaningful conclusion (docs
/// checks/list-for-ref: "conclusion … Required if you provide completed_at or a status of
/// completed"); unknown conclusions stay pending, never success.
pub(super) fn check_run_state(status: &str, conclusion: Option<&str>) -> GateState {
    if status != "completed" {
        return GateState::Pending;
    }
    match conclusion {
        Some("success" | "neutral" | "skipped") => GateState::Success,
        Some(
            "failure" | "cancelled" | "timed_out" | "action_required" | "startup_failure" | "stale",
        ) => GateState::Failure,
        _ => GateState::Pending,
    }
}

/// A report and when it was made, for "the newest wins".
struct Dated {
    at: Option<OffsetDateTime>,
    report: StatusReport,
}

fn parse_time(text: Option<&str>) -> Option<OffsetDateTime> {
    text.and_then(|t| OffsetDateTime::parse(t, &Rfc3339).ok())
}

fn severity(state: GateState) -> u8 {
    match state {
        GateState::Success => 0,
        GateState::Pending => 1,
        GateState::Failure => 2,
    }
}

/// Keeps `candidate` if it is newer; on equal times, `worse_on_tie` keeps the worse state.
fn offer(map: &mut BTreeMap<String, Dated>, candidate: Dated, worse_on_tie: bool) {
    match map.get(&candidate.report.name) {
        Some(kept) if candidate.at < kept.at => {}
        Some(kept)
            if candidate.at == kept.at
                && !(worse_on_tie
                    && severity(candidate.report.state) > severity(kept.report.state)) => {}
        _ => {
            map.insert(candidate.report.name.clone(), candidate);
        }
    }
}

/// The newest report per name over commit statuses (listed newest first, docs
/// repos/list-commit-statuses-for-ref: "Statuses are returned in reverse chronological order. The
/// first status in the list will be the latest one") and check runs. A status and a check run with
/// the same name: the newer wins; at the same second, the worse state.
pub(super) fn reduce(statuses: Vec<CommitStatus>, runs: Vec<CheckRun>) -> Vec<StatusReport> {
    let mut by_status = BTreeMap::new();
    for status in statuses {
        let at = parse_time(
            status
                .updated_at
                .as_deref()
                .or(status.created_at.as_deref()),
        );
        let report = StatusReport {
            state: status_state(&status.state),
            name: status.context,
            description: status.description.unwrap_or_default(),
            target_url: status.target_url.filter(|u| !u.is_empty()),
            description_fixed: false,
        };
        // Same second: the list order (newest first) decides, so the first one stays.
        offer(&mut by_status, Dated { at, report }, false);
    }
    let mut merged = BTreeMap::new();
    for run in runs {
        let at = parse_time(run.completed_at.as_deref().or(run.started_at.as_deref()));
        let state = check_run_state(&run.status, run.conclusion.as_deref());
        let description = run
            .output
            .and_then(|o| o.title)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| run.conclusion.unwrap_or(run.status));
        let report = StatusReport {
            name: run.name,
            state,
            description,
            target_url: run.html_url.or(run.details_url).filter(|u| !u.is_empty()),
            description_fixed: false,
        };
        offer(&mut merged, Dated { at, report }, true);
    }
    for dated in by_status.into_values() {
        offer(&mut merged, dated, true);
    }
    merged.into_values().map(|d| d.report).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PrNumber;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../../tests/fixtures/scm/github/", $name))
        };
    }

    fn keys(json: &str) -> Vec<String> {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    }

    fn branch(name: &str) -> BranchName {
        BranchName::parse(name).unwrap()
    }

    #[test]
    fn the_pulls_list_example_maps_to_a_promotion_pr() {
        let pulls: Vec<Pull> = serde_json::from_str(fixture!("pulls-list.json")).unwrap();
        let pull = pulls.into_iter().next().unwrap();
        assert!(pull.is_promotion_pr(
            "octocat/hello-world",
            &branch("new-topic"),
            &branch("master")
        ));
        assert!(!pull.is_promotion_pr(
            "octocat/Hello-World",
            &branch("new-topic"),
            &branch("main")
        ));
        assert!(!pull.is_promotion_pr(
            "someone/Hello-World",
            &branch("new-topic"),
            &branch("master")
        ));
        let pr = pull.into_domain().unwrap();
        assert_eq!(pr.number, PrNumber(1347));
        assert_eq!(pr.url, "https://github.com/octocat/Hello-World/pull/1347");
        assert_eq!(pr.title, "Amazing new feature");
        assert_eq!(pr.body, "Please pull these awesome changes in!");
        assert_eq!(
            pr.head_sha.as_str(),
            "6dcb09b5b57875f334f61aebed695e2e4193db5e"
        );
        assert_eq!(pr.head_branch, branch("new-topic"));
        assert_eq!(pr.base_branch, branch("master"));
    }

    #[test]
    fn the_full_pull_request_example_maps_the_same_and_reads_merge_fields() {
        let pull: Pull = serde_json::from_str(fixture!("pull-create.json")).unwrap();
        assert_eq!(pull.merged, Some(false));
        assert_eq!(
            pull.merge_commit_sha.as_deref(),
            Some("e5bd3914e2e596debea16f433f57875b5b90bcd6")
        );
        let pr = pull.into_domain().unwrap();
        assert_eq!(pr.number, PrNumber(1347));
        assert_eq!(pr.head_branch, branch("new-topic"));
        assert_eq!(pr.base_branch, branch("master"));
    }

    #[test]
    fn a_pr_whose_head_repository_was_deleted_is_never_a_promotion_pr() {
        let mut value: serde_json::Value =
            serde_json::from_str(fixture!("pulls-list.json")).unwrap();
        value[0]["head"]["repo"] = serde_json::Value::Null;
        let pulls: Vec<Pull> = serde_json::from_value(value).unwrap();
        assert!(!pulls[0].is_promotion_pr(
            "octocat/Hello-World",
            &branch("new-topic"),
            &branch("master")
        ));
    }

    #[test]
    fn the_merge_answer_carries_the_merge_sha() {
        let result: MergeResult = serde_json::from_str(fixture!("pull-merge.json")).unwrap();
        assert_eq!(
            result.sha.as_deref(),
            Some("6dcb09b5b57875f334f61aebed695e2e4193db5e")
        );
    }

    #[test]
    fn the_status_examples_map_to_success_reports() {
        let statuses: Vec<CommitStatus> =
            serde_json::from_str(fixture!("statuses-list.json")).unwrap();
        let reports = reduce(statuses, Vec::new());
        assert_eq!(
            reports,
            vec![StatusReport {
                name: "continuous-integration/jenkins".into(),
                state: GateState::Success,
                description: "Build has completed successfully".into(),
                target_url: Some("https://ci.example.com/1000/output".into()),
                description_fixed: false,
            }]
        );
        let created: CommitStatus = serde_json::from_str(fixture!("status-create.json")).unwrap();
        assert_eq!(
            (created.state.as_str(), created.context.as_str()),
            ("success", "continuous-integration/jenkins")
        );

        #[derive(Deserialize)]
        struct Combined {
            statuses: Vec<CommitStatus>,
        }
        let combined: Combined = serde_json::from_str(fixture!("combined-status.json")).unwrap();
        let names: Vec<(String, GateState)> = reduce(combined.statuses, Vec::new())
            .into_iter()
            .map(|r| (r.name, r.state))
            .collect();
        assert_eq!(
            names,
            [
                (
                    "continuous-integration/jenkins".to_owned(),
                    GateState::Success
                ),
                ("security/brakeman".to_owned(), GateState::Success),
            ]
        );
    }

    #[test]
    fn the_check_run_example_maps_neutral_to_success() {
        let runs: CheckRuns = serde_json::from_str(fixture!("check-runs-list.json")).unwrap();
        let reports = reduce(Vec::new(), runs.check_runs);
        assert_eq!(
            reports,
            vec![StatusReport {
                name: "mighty_readme".into(),
                state: GateState::Success,
                description: "Mighty Readme report".into(),
                target_url: Some("https://github.com/github/hello-world/runs/4".into()),
                description_fixed: false,
            }]
        );
    }

    #[test]
    fn status_words_map_per_spec() {
        assert_eq!(status_state("success"), GateState::Success);
        assert_eq!(status_state("failure"), GateState::Failure);
        assert_eq!(status_state("error"), GateState::Failure);
        assert_eq!(status_state("pending"), GateState::Pending);
        assert_eq!(status_state("weird"), GateState::Pending);
    }

    #[test]
    fn check_run_words_map_per_spec() {
        for ok in ["success", "neutral", "skipped"] {
            assert_eq!(
                check_run_state("completed", Some(ok)),
                GateState::Success,
                "{ok}"
            );
        }
        for bad in [
            "failure",
            "cancelled",
            "timed_out",
            "action_required",
            "startup_failure",
            "stale",
        ] {
            assert_eq!(
                check_run_state("completed", Some(bad)),
                GateState::Failure,
                "{bad}"
            );
        }
        for running in ["queued", "in_progress", "waiting", "requested", "pending"] {
            assert_eq!(
                check_run_state(running, None),
                GateState::Pending,
                "{running}"
            );
            assert_eq!(
                check_run_state(running, Some("success")),
                GateState::Pending,
                "{running}"
            );
        }
        assert_eq!(check_run_state("completed", None), GateState::Pending);
        assert_eq!(
            check_run_state("completed", Some("new_word")),
            GateState::Pending
        );
    }

    fn status(context: &str, state: &str, at: &str) -> CommitStatus {
        CommitStatus {
            state: state.into(),
            context: context.into(),
            description: Some(format!("{state} at {at}")),
            target_url: None,
            created_at: Some(at.into()),
            updated_at: Some(at.into()),
        }
    }

    fn run(name: &str, conclusion: &str, at: &str) -> CheckRun {
        CheckRun {
            name: name.into(),
            status: "completed".into(),
            conclusion: Some(conclusion.into()),
            started_at: Some(at.into()),
            completed_at: Some(at.into()),
            html_url: None,
            details_url: None,
            output: None,
        }
    }

    fn states(reports: Vec<StatusReport>) -> Vec<(String, GateState)> {
        reports.into_iter().map(|r| (r.name, r.state)).collect()
    }

    #[test]
    fn the_newest_report_per_name_wins_across_statuses_and_check_runs() {
        let statuses = vec![
            status("health", "success", "2024-01-01T10:05:00Z"),
            status("health", "failure", "2024-01-01T10:00:00Z"),
            status("lint", "failure", "2024-01-01T09:00:00Z"),
            // Same second as the newer entry above it: list order (newest first) decides.
            status("ci", "pending", "2024-01-01T10:00:00Z"),
            status("ci", "success", "2024-01-01T10:00:00Z"),
        ];
        let runs = vec![
            run("health", "failure", "2024-01-01T10:01:00Z"),
            run("lint", "success", "2024-01-01T09:30:00Z"),
        ];
        assert_eq!(
            states(reduce(statuses, runs)),
            [
                ("ci".to_owned(), GateState::Pending),
                ("health".to_owned(), GateState::Success),
                ("lint".to_owned(), GateState::Success),
            ]
        );
    }

    #[test]
    fn a_status_and_a_check_run_of_the_same_second_yield_the_worse_state() {
        let statuses = vec![status("health", "success", "2024-01-01T10:00:00Z")];
        let runs = vec![run("health", "timed_out", "2024-01-01T10:00:00Z")];
        assert_eq!(
            states(reduce(statuses, runs)),
            [("health".to_owned(), GateState::Failure)]
        );
    }

    #[test]
    fn request_bodies_use_the_field_names_of_the_api_examples() {
        let create = serde_json::to_string(&crate::scm::shared::CreateHtmlPull {
            title: "t",
            body: "b",
            head: "h",
            base: "m",
        })
        .unwrap();
        assert_eq!(keys(&create), keys(fixture!("pull-create.request.json")));

        let update = serde_json::to_string(&crate::scm::shared::TitleBody {
            title: "t",
            body: "b",
        })
        .unwrap();
        let example = keys(fixture!("pull-update.request.json"));
        assert!(
            keys(&update).iter().all(|k| example.contains(k)),
            "{update}"
        );

        let merge = serde_json::to_string(&MergePull {
            commit_title: "t",
            commit_message: "m",
            sha: "s",
            merge_method: "merge",
        })
        .unwrap();
        let mut expected = keys(fixture!("pull-merge.request.json"));
        // Both are optional in the spec's schema and absent from its example.
        expected.extend(["merge_method".to_owned(), "sha".to_owned()]);
        expected.sort();
        assert_eq!(keys(&merge), expected);

        let status = serde_json::to_string(&CreateStatus {
            state: "success",
            description: "d",
            context: "c",
            target_url: Some("https://x"),
        })
        .unwrap();
        assert_eq!(keys(&status), keys(fixture!("status-create.request.json")));
    }
}
