//! The end of `plan_promotion` as a truth table: for an environment with something to promote and
//! no conflict, which PR and merge steps are planned and why, over every combination of PR found ×
//! text changed × waiting × gates read × autoMerge × head matches. The `match` in [`expected`] is
//! the table; the compiler checks it covers every row.

use super::*;
use crate::model::PrNumber;
use crate::reconcile::world_tests::{EnvSpec, T0, config, dry, env, metadata};
use crate::reconcile::{EnvironmentObservation, ScmFacts};
use crate::scm::PullRequest;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pr {
    NotRead,
    NoneOpen,
    Open,
}

#[derive(Debug, Clone, Copy)]
struct Case {
    pr: Pr,
    /// The open PR's title differs from the rendered one.
    text_changed: bool,
    /// A proposed gate (`scan`) is not success.
    waiting: bool,
    /// The reports on the staging tip were read.
    gates_read: bool,
    auto_merge: bool,
    /// The open PR's head, as the SCM shows it, is the observed staging tip.
    head_matches: bool,
    /// The open PR has the hold label (in another case: labels compare case-insensitively, as
    /// SCMs keep label names unique without case).
    held: bool,
}

const NUMBER: PrNumber = PrNumber(7);

fn live_tip() -> Sha {
    dry('1')
}

fn staging_tip() -> Sha {
    dry('2')
}

/// The planned step kinds and the summary's reason for `case`.
fn expected(case: Case) -> (Vec<&'static str>, String) {
    let update = if case.text_changed {
        vec!["update-pr"]
    } else {
        vec![]
    };
    let waiting = if case.gates_read {
        "`scan`: scan is pending"
    } else {
        "`scan`: `scan` was not read in this pass"
    };
    let merge = [update.as_slice(), &["merge"]].concat();
    if case.pr == Pr::Open && case.held {
        return (
            update,
            "held: #7 has the `promoter:hold` label; remove it to resume".to_owned(),
        );
    }
    let (steps, reason) = match (
        case.pr,
        case.waiting,
        case.gates_read,
        case.auto_merge,
        case.head_matches,
    ) {
        (Pr::NotRead, ..) => (vec![], "the promotion PR was not looked up in this pass"),
        (Pr::NoneOpen, true, ..) => (vec!["create-pr"], waiting),
        (Pr::NoneOpen, false, ..) => (vec!["create-pr"], "every gate passed"),
        (Pr::Open, true, ..) => (update, waiting),
        (Pr::Open, false, false, ..) => (update, "the proposed gates were not read in this pass"),
        (Pr::Open, false, true, false, _) => (
            update,
            "every gate passed; waiting for a person to merge #7",
        ),
        (Pr::Open, false, true, true, false) => (
            update,
            "waiting for the SCM to show 2222222 as the head of #7",
        ),
        (Pr::Open, false, true, true, true) => (merge, "every gate passed; ready to merge #7"),
    };
    (steps, reason.to_owned())
}

fn every_case() -> Vec<Case> {
    let mut cases = Vec::new();
    for pr in [Pr::NotRead, Pr::NoneOpen, Pr::Open] {
        for bits in 0..64u8 {
            let bit = |n: u8| bits & (1 << n) != 0;
            cases.push(Case {
                pr,
                text_changed: bit(0),
                waiting: bit(1),
                gates_read: bit(2),
                auto_merge: bit(3),
                head_matches: bit(4),
                held: bit(5),
            });
        }
    }
    cases
}

/// One environment, `spec`, with `b` staged over live `a`; `scan` is a proposed gate when the
/// case waits on it or reads it (success when read and not waiting).
fn observe(case: Case, spec: &EnvSpec, pr: PrLookup) -> (Config, StrategyObservation) {
    let mut spec = spec.clone();
    if case.waiting || case.gates_read {
        spec = spec.proposed("scan");
    }
    if !case.auto_merge {
        spec = spec.manual();
    }
    let state = if case.waiting {
        GateState::Pending
    } else {
        GateState::Success
    };
    let reports = vec![StatusReport {
        name: "scan".into(),
        state,
        description: format!("scan is {}", state.as_str()),
        target_url: None,
        description_fixed: false,
    }];
    let observed = StrategyObservation {
        strategy: 0,
        environments: vec![EnvironmentObservation {
            git: Some(GitFacts {
                live_tip: live_tip(),
                staging_tip: staging_tip(),
                live_dry: Some(metadata('a')),
                staging_dry: Some(metadata('b')),
                note_dry_sha: None,
                live_committed_at: T0,
                conflict: false,
            }),
            scm: ScmFacts {
                pull_request: pr,
                staging_statuses: case.gates_read.then_some(reports),
                live_statuses: None,
            },
            computed: Default::default(),
            error: None,
        }],
    };
    (config(&[spec]), observed)
}

/// The plan of `case` for dev.
fn plan_case(case: Case) -> EnvironmentPlan {
    plan_case_for(case, &env("dev"))
}

/// The case's observation, with the open PR (when there is one) showing the rendered text, or an
/// older title when the text changed.
fn plan_case_for(case: Case, spec: &EnvSpec) -> EnvironmentPlan {
    let (config, observed) = observe(case, spec, PrLookup::NoneOpen);
    let rendered = plan_environment(&config, &observed, 0, T0);
    let Some(Action::CreatePr { title, body, .. }) = rendered.steps.last().map(|s| &s.action)
    else {
        panic!("no PR open plans a create: {:#?}", rendered.steps)
    };
    let pr = match case.pr {
        Pr::NotRead => PrLookup::NotRead,
        Pr::NoneOpen => PrLookup::NoneOpen,
        Pr::Open => PrLookup::Open(PullRequest {
            number: NUMBER,
            url: "https://github.com/acme/deploy/pull/7".into(),
            title: if case.text_changed {
                "Promote an older change".into()
            } else {
                title.clone()
            },
            body: body.clone(),
            head_sha: if case.head_matches {
                staging_tip()
            } else {
                dry('3')
            },
            head_branch: branch_name("environment/dev-next"),
            base_branch: branch_name("environment/dev"),
            labels: if case.held {
                vec!["documentation".into(), "Promoter:Hold".into()]
            } else {
                vec!["documentation".into()]
            },
        }),
    };
    let (config, observed) = observe(case, spec, pr);
    plan_environment(&config, &observed, 0, T0)
}

fn branch_name(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

fn kinds(plan: &EnvironmentPlan) -> Vec<&'static str> {
    crate::reconcile::world_tests::kinds(plan)
}

#[test]
fn the_end_of_plan_promotion_follows_its_truth_table() {
    for case in every_case() {
        let plan = plan_case(case);
        let (steps, reason) = expected(case);
        assert_eq!(
            (kinds(&plan), plan.summary.reason.as_str()),
            (steps, reason.as_str()),
            "{case:?}"
        );
        assert_eq!(plan.summary.phase, Phase::Pending, "{case:?}");
        assert_eq!(
            plan.summary.proposed_gates.len(),
            usize::from(case.waiting || case.gates_read),
            "{case:?}"
        );
    }
}

/// The one row of the table that merges.
const READY: Case = Case {
    pr: Pr::Open,
    text_changed: false,
    waiting: false,
    gates_read: true,
    auto_merge: true,
    head_matches: true,
    held: false,
};

/// The Merge step of `plan`, or a panic showing the steps.
fn merge_step(plan: &EnvironmentPlan) -> (PrNumber, &Sha, &str, bool) {
    match plan.steps.last().map(|s| &s.action) {
        Some(Action::Merge {
            number,
            head_sha,
            title,
            reread_live_tip,
            ..
        }) => (*number, head_sha, title, *reread_live_tip),
        _ => panic!("no merge planned: {:#?}", plan.steps),
    }
}

#[test]
fn a_merge_carries_the_observed_staging_tip_and_the_rendered_title() {
    let plan = plan_case(READY);
    let (number, head_sha, title, reread_live_tip) = merge_step(&plan);
    assert_eq!((number, head_sha), (NUMBER, &staging_tip()));
    assert_eq!(title, "Promote bbbbbbb to `environment/dev`");
    assert!(!reread_live_tip, "no soak gate: the merge answer is enough");
}

#[test]
fn a_merge_in_an_environment_with_a_soak_gate_re_reads_the_live_tip() {
    let plan = plan_case_for(READY, &env("dev").soak("soak", 60));
    let (.., reread_live_tip) = merge_step(&plan);
    assert!(
        reread_live_tip,
        "the soak counts from the merge commit's time"
    );
}
