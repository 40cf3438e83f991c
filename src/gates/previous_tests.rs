//! The previous-environment truth table of upstream argoproj-labs/gitops-promoter (its gating rules
//! and the no-op hydration scenarios of internal/controller/promotionstrategy_controller_test.go),
//! ported row by row, plus the one difference of docs/design.md §3: ordering holds with zero active
//! gates.

use super::*;
use crate::gates::GateResult;

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).unwrap()
}

fn branch(name: &str) -> BranchName {
    BranchName::parse(name).unwrap()
}

/// How healthy an environment's active gates are.
#[derive(Clone, Copy)]
enum Health {
    NoGates,
    Healthy,
    Unhealthy,
    Failing,
}

fn gates(health: Health) -> Vec<GateResult> {
    let key = GateKey::parse("health").unwrap();
    match health {
        Health::NoGates => vec![],
        Health::Healthy => vec![GateResult::new(key, GateState::Success, "ok")],
        Health::Unhealthy => vec![GateResult::new(key, GateState::Pending, "progressing")],
        Health::Failing => vec![GateResult::new(key, GateState::Failure, "degraded")],
    }
}

/// An earlier environment: live dry, staging dry, note dry (each a letter or `-` for none).
fn env<'a>(
    b: &'a BranchName,
    live: char,
    staging: char,
    note: char,
    health: Health,
) -> EarlierEnvironment<'a> {
    let opt = |c: char| (c != '-').then(|| sha(c));
    EarlierEnvironment {
        branch: b,
        dry: Some(DryState {
            live: opt(live),
            staging: opt(staging),
            effective: opt(note).or_else(|| opt(staging)),
        }),
        active_gates: gates(health),
    }
}

#[test]
fn upstream_truth_table_for_one_preceding_environment() {
    use GateState::*;
    use Health::*;
    let dev = branch("environment/dev");
    // (row, live, staging, note, health, target, want)
    let rows = [
        ("not hydrated", 'A', 'A', '-', Healthy, 'B', Pending),
        (
            "not hydrated, note for an older change",
            'A',
            'A',
            'A',
            Healthy,
            'B',
            Pending,
        ),
        (
            "hydrated, real change, not merged",
            'A',
            'B',
            'B',
            Healthy,
            'B',
            Pending,
        ),
        (
            "hydrated without note, not merged",
            'A',
            'B',
            '-',
            Healthy,
            'B',
            Pending,
        ),
        (
            "merged but unhealthy",
            'B',
            'B',
            '-',
            Unhealthy,
            'B',
            Pending,
        ),
        ("merged but failing", 'B', 'B', '-', Failing, 'B', Pending),
        ("merged and healthy", 'B', 'B', '-', Healthy, 'B', Success),
        (
            "merged and healthy, note present",
            'B',
            'B',
            'B',
            Healthy,
            'B',
            Success,
        ),
        (
            "no-op with pending older change",
            'A',
            'C',
            'B',
            Healthy,
            'B',
            Pending,
        ),
        (
            "no-op, never promoted",
            '-',
            'A',
            'B',
            Healthy,
            'B',
            Pending,
        ),
        (
            "no-op, nothing pending, unhealthy",
            'A',
            'A',
            'B',
            Unhealthy,
            'B',
            Pending,
        ),
        (
            "no-op, nothing pending, healthy: recurse to base",
            'A',
            'A',
            'B',
            Healthy,
            'B',
            Success,
        ),
        (
            "legacy hydrator: merged, healthy",
            'B',
            'B',
            '-',
            Healthy,
            'B',
            Success,
        ),
        (
            "legacy hydrator: not merged",
            'A',
            'B',
            '-',
            Healthy,
            'B',
            Pending,
        ),
        // docs/design.md §3, unlike upstream: ordering holds with no active gates.
        (
            "no active gates, not merged",
            'A',
            'B',
            '-',
            NoGates,
            'B',
            Pending,
        ),
        (
            "no active gates, merged",
            'B',
            'B',
            '-',
            NoGates,
            'B',
            Success,
        ),
    ];
    for (row, live, staging, note, health, target, want) in rows {
        let got = evaluate(&[env(&dev, live, staging, note, health)], &sha(target));
        assert_eq!(got.state, want, "row `{row}`: {}", got.description);
        assert_eq!(got.key.as_str(), "promoter-previous-environment");
        assert_ne!(got.state, Failure, "never failure");
    }
}

#[test]
fn pending_reasons_name_the_environment_and_the_gate() {
    let dev = branch("environment/dev");
    let b = sha('b');
    let hydrator = evaluate(&[env(&dev, 'a', 'a', '-', Health::Healthy)], &b);
    assert_eq!(
        hydrator.description,
        "Waiting for the hydrator to process bbbbbbb for `environment/dev`"
    );
    let promoted = evaluate(&[env(&dev, 'a', 'b', '-', Health::Healthy)], &b);
    assert_eq!(
        promoted.description,
        "Waiting for `environment/dev` to be promoted"
    );
    let health = evaluate(&[env(&dev, 'b', 'b', '-', Health::Failing)], &b);
    assert_eq!(
        health.description,
        "Waiting for `health` on `environment/dev`"
    );
    assert_eq!(health.state, GateState::Pending);
    let ok = evaluate(&[env(&dev, 'b', 'b', '-', Health::Healthy)], &b);
    assert_eq!(
        ok.description,
        "bbbbbbb is live and healthy on `environment/dev`"
    );
}

#[test]
fn recursion_passes_through_several_no_op_environments_to_the_one_that_changed() {
    use Health::*;
    let (dev, qa, staging) = (
        branch("environment/dev"),
        branch("environment/qa"),
        branch("environment/staging"),
    );
    let b = sha('b');
    // dev changed for B; qa and staging only got notes.
    let chain = |dev_live: char, dev_health: Health, qa_health: Health| {
        vec![
            env(&dev, dev_live, 'b', '-', dev_health),
            env(&qa, 'a', 'a', 'b', qa_health),
            env(&staging, 'a', 'a', 'b', Healthy),
        ]
    };
    let waiting = evaluate(&chain('a', Healthy, Healthy), &b);
    assert_eq!(waiting.state, GateState::Pending);
    assert_eq!(
        waiting.description,
        "Waiting for `environment/dev` to be promoted"
    );
    let unhealthy_dev = evaluate(&chain('b', Unhealthy, Healthy), &b);
    assert_eq!(
        unhealthy_dev.description,
        "Waiting for `health` on `environment/dev`"
    );
    // #1319: an unhealthy no-op environment in the middle blocks even if dev is fine.
    let unhealthy_qa = evaluate(&chain('b', Healthy, Unhealthy), &b);
    assert_eq!(
        unhealthy_qa.description,
        "Waiting for `health` on `environment/qa`"
    );
    let ok = evaluate(&chain('b', Healthy, Healthy), &b);
    assert_eq!(ok.state, GateState::Success);
    assert_eq!(
        ok.description,
        "bbbbbbb is live and healthy on `environment/dev`"
    );
}

#[test]
fn a_newer_all_no_op_change_does_not_skip_an_unhealthy_environment() {
    // #1319: B is a no-op everywhere before prod; staging still runs A and is unhealthy.
    let (dev, staging) = (branch("environment/dev"), branch("environment/staging"));
    let earlier = [
        env(&dev, 'a', 'a', 'b', Health::Healthy),
        env(&staging, 'a', 'a', 'b', Health::Unhealthy),
    ];
    let got = evaluate(&earlier, &sha('b'));
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        "Waiting for `health` on `environment/staging`"
    );
}

#[test]
fn a_change_only_for_later_environments_may_promote_when_every_earlier_one_is_a_healthy_no_op() {
    let dev = branch("environment/dev");
    let got = evaluate(&[env(&dev, 'a', 'a', 'b', Health::Healthy)], &sha('b'));
    assert_eq!(got.state, GateState::Success);
    assert_eq!(
        got.description,
        "no earlier environment deploys bbbbbbb first"
    );
}

#[test]
fn an_environment_that_could_not_be_observed_counts_as_not_promoted() {
    let dev = branch("environment/dev");
    let earlier = [EarlierEnvironment {
        branch: &dev,
        dry: None,
        active_gates: vec![],
    }];
    let got = evaluate(&earlier, &sha('b'));
    assert_eq!(got.state, GateState::Pending);
    assert_eq!(
        got.description,
        "Waiting for `environment/dev` to be promoted"
    );
}

#[test]
fn the_blocking_gate_link_is_passed_on() {
    let dev = branch("environment/dev");
    let mut p = env(&dev, 'b', 'b', '-', Health::Unhealthy);
    p.active_gates[0].target_url = Some("https://argocd.example/app".into());
    let got = evaluate(&[p], &sha('b'));
    assert_eq!(
        got.target_url.as_deref(),
        Some("https://argocd.example/app")
    );
}
