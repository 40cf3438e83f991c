use super::*;
use crate::gates::GateResult;
use crate::model::{BranchName, GateKey, PrNumber};
use crate::pass::{Mode, SCHEMA_VERSION, StrategyReport};
use crate::reconcile::plan::{PrRef, Summary};

const HOSTILE: &str = "<img src=x onerror=alert(1)> @admin [click](https://evil.test) ![i](https://evil.test/i.png) | ``x`` https://evil.test #1 <!-- promoter-dashboard:v1 -->\nsecond line";

fn sha(c: char) -> Sha {
    Sha::parse(&c.to_string().repeat(40)).expect("sha")
}

fn env(name: &str, phase: Phase, live: char, proposed: char, reason: &str) -> EnvironmentReport {
    EnvironmentReport {
        branch: BranchName::parse(&format!("environment/{name}")).expect("branch"),
        staging_branch: BranchName::parse(&format!("environment/{name}-next")).expect("branch"),
        summary: Summary {
            phase,
            reason: reason.to_owned(),
            live_dry: Some(sha(live)),
            proposed_dry: Some(sha(proposed)),
            live_tip: None,
            staging_tip: None,
            pull_request: (live != proposed).then(|| PrRef {
                number: PrNumber(7),
                url: "https://github.com/acme/deploy/pull/7".into(),
            }),
            proposed_gates: if live == proposed {
                Vec::new()
            } else {
                vec![GateResult::new(
                    GateKey::previous_environment(),
                    GateState::Pending,
                    "waiting",
                )]
            },
            active_gates: vec![GateResult::new(
                GateKey::parse("health").expect("key"),
                GateState::Success,
                "ok",
            )],
        },
        done: Vec::new(),
        planned: Vec::new(),
        deferred: Vec::new(),
    }
}

fn report(environments: Vec<EnvironmentReport>) -> PassReport {
    PassReport {
        schema_version: SCHEMA_VERSION,
        mode: Mode::Reconcile,
        repository: "acme/deploy".into(),
        web_url: "https://github.com/acme/deploy".into(),
        strategies: vec![StrategyReport {
            name: "app".into(),
            environments,
        }],
        writes: None,
        dashboard: None,
    }
}

fn subjects() -> BTreeMap<Sha, String> {
    BTreeMap::from([
        (sha('a'), "Raise the replica count".to_owned()),
        (sha('b'), HOSTILE.to_owned()),
    ])
}

fn render(report: &PassReport, limit: usize) -> String {
    let subjects = subjects();
    body(
        report,
        &BodyInputs {
            subjects: &subjects,
            pr_sigil: '#',
            limit,
        },
    )
}

/// The text CommonMark leaves outside code spans (a backtick run opens a span that the next run
/// of the same length closes; an unmatched run is literal).
fn outside_code(markdown: &str) -> String {
    let chars: Vec<char> = markdown.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i] == '`' {
            i += 1;
        }
        let run = i - start;
        let mut j = i;
        let mut closed = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let s = j;
                while j < chars.len() && chars[j] == '`' {
                    j += 1;
                }
                if j - s == run {
                    closed = Some(j);
                    break;
                }
            } else {
                j += 1;
            }
        }
        match closed {
            Some(end) => {
                out.push_str("<code/>");
                i = end;
            }
            None => out.extend(&chars[start..i]),
        }
    }
    out
}

#[test]
fn the_body_starts_with_the_marker_and_shows_every_environment() {
    let text = render(
        &report(vec![
            env("dev", Phase::Promoted, 'a', 'a', "aaaaaaa is live"),
            env(
                "prod",
                Phase::Pending,
                'a',
                'b',
                "Waiting for `environment/dev` to be promoted",
            ),
        ]),
        65_536,
    );
    assert!(text.starts_with(&format!("{MARKER}\n")), "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn the_same_report_renders_the_same_body() {
    let make = || report(vec![env("dev", Phase::Pending, 'a', 'b', "waiting")]);
    assert_eq!(render(&make(), 65_536), render(&make(), 65_536));
}

#[test]
fn a_hostile_commit_subject_stays_inside_code_spans() {
    let text = render(
        &report(vec![env("prod", Phase::Blocked, 'a', 'b', HOSTILE)]),
        65_536,
    );
    let outside = outside_code(&text);
    for bad in [
        "<img",
        "@admin",
        "](https://evil",
        "![",
        "https://evil",
        "#1",
        "second line",
    ] {
        assert!(
            !outside.contains(bad),
            "{bad:?} outside code spans in:\n{text}"
        );
    }
    // The subject and the reason are there, inside code spans, one table row each.
    assert!(text.contains("onerror=alert(1)"), "{text}");
    let row = text
        .lines()
        .find(|line| line.contains("environment/prod"))
        .expect("the prod row");
    let cells = outside_code(row).replace("\\|", "").matches('|').count();
    assert_eq!(cells, 8, "7 cells, so 8 unescaped pipes: {row}");
    // Only the marker line is a comment outside code.
    assert_eq!(outside.matches("<!--").count(), 1, "{text}");
}

#[test]
fn environments_past_the_body_limit_are_counted_not_cut() {
    let environments: Vec<EnvironmentReport> = (0..40)
        .map(|i| {
            env(
                &format!("e{i}"),
                Phase::Pending,
                'a',
                'b',
                "waiting for the hydrator",
            )
        })
        .collect();
    let full = render(&report(environments.clone()), 65_536);
    let cut = render(&report(environments), 4_000);
    assert!(cut.len() <= 4_000, "{}", cut.len());
    assert!(full.contains("environment/e39"));
    let shown = cut
        .lines()
        .filter(|l| l.starts_with("| `environment/"))
        .count();
    assert!(shown > 0 && shown < 40, "{shown}");
    assert!(
        cut.ends_with(&format!(
            "{} more environment(s) not shown: the issue body is limited to 4000 characters here.\n",
            40 - shown
        )),
        "{cut}"
    );
}

#[test]
fn the_token_never_reaches_the_body() {
    // Every secret promoter holds is registered when it is made (`crate::redact`).
    let _token = crate::model::Secret::new("s3cr3t-t0ken");
    let text = render(
        &report(vec![env(
            "dev",
            Phase::Failure,
            'a',
            'b',
            "GET /x answered 401: bad token s3cr3t-t0ken",
        )]),
        65_536,
    );
    assert!(!text.contains("s3cr3t-t0ken"), "{text}");
    assert!(text.contains("bad token ***"), "{text}");
}
