//! `gates:` validation: keys, kinds, placement and each kind's values, with their locations.
use std::path::Path;

use super::super::tests::problems;
use crate::config::{ComputedGate, parse};

const STRATEGIES: &str = "strategies:\n  - name: app\n    proposedCommitStatuses:\n      - key: business-hours\n      - key: ticket-referenced\n    activeCommitStatuses:\n      - key: argocd-health\n      - key: smoke-tests\n    environments:\n      - branch: environment/dev\n      - branch: environment/prod\n";

fn file(gates: &str) -> String {
    format!(
        "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\n{STRATEGIES}gates:\n{gates}"
    )
}

const EXAMPLE: &str = r#"  - key: business-hours
    schedule:
      timezone: Europe/Berlin
      allow: [{cron: "0 9 * * 1-5", duration: 8h, description: "office hours"}]
      exclude: [{cron: "0 0 20 12 *", duration: 336h, description: "year-end freeze"}]
      environments:
        environment/prod: {exclude: [{cron: "0 0 * * 5", duration: 72h}]}
  - key: ticket-referenced
    commit:
      target: proposed
      expression: 'commit.trailers["Ticket"] is defined and commit.author.endswith("@acme.com")'
  - key: smoke-tests
    webRequest:
      url: "https://ci.acme.com/api/runs?sha={{ commit.sha }}&env={{ environment.branch }}"
      method: GET
      headersFromEnv: {Authorization: SMOKE_AUTH}
      success: 'response.status == 200 and response.json.state == "passed"'
      timeout: 10s
  - key: argocd-health
    argocd:
      server: https://argocd.acme.com/
      tokenEnv: ARGOCD_AUTH_TOKEN
      selector: "team=payments"
"#;

#[test]
fn the_issue_example_loads_and_its_keys_are_computed_where_listed() {
    let config = parse(&file(EXAMPLE), Path::new("promotion.yaml"), &|_| None)
        .unwrap_or_else(|e| panic!("{:?}", e.problems));
    let kinds: Vec<&str> = config.gates.iter().map(|g| g.kind.name()).collect();
    assert_eq!(kinds, ["schedule", "commit", "webRequest", "argocd"]);
    let prod = &config.strategies[0].environments[1];
    let computed: Vec<(&str, Option<&str>)> = prod
        .proposed_gates
        .iter()
        .chain(&prod.active_gates)
        .map(|g| (g.key.as_str(), g.computed.as_ref().map(|d| d.kind.name())))
        .collect();
    assert_eq!(
        computed,
        [
            ("business-hours", Some("schedule")),
            ("ticket-referenced", Some("commit")),
            ("argocd-health", Some("argocd")),
            ("smoke-tests", Some("webRequest")),
        ]
    );
    let ComputedGate::Argocd(argocd) = &config.gates[3].kind else {
        panic!("argocd")
    };
    assert_eq!(argocd.server, "https://argocd.acme.com");
    let ComputedGate::Schedule(schedule) = &config.gates[0].kind else {
        panic!("schedule")
    };
    assert_eq!(schedule.global.allow[0].timezone_name, "Europe/Berlin");
    assert_eq!(schedule.environments.as_ref().map(|e| e.len()), Some(1));
}

#[test]
fn keys_kinds_and_placement_are_checked_with_their_location() {
    let text = file(
        "  - key: Business-Hours\n    schedule: {}\n  - key: two\n    schedule: {}\n    commit: {expression: 'true'}\n  - key: none\n  - key: none\n    commit: {expression: 'true'}\n  - key: business-hours\n    argocd: {server: 'https://a', selector: 'a=b'}\n  - key: ticket-referenced\n    commit: {expression: 'true'}\n  - key: argocd-health\n    schedule: {}\n  - key: smoke-tests\n    schedule: {}\n",
    );
    assert_eq!(
        problems(&text),
        [
            "9:14 strategies[0].proposedCommitStatuses[0].key: `business-hours` is a gate of kind `argocd`, which cannot be listed under `proposedCommitStatuses`",
            "12:14 strategies[0].activeCommitStatuses[0].key: `argocd-health` is a gate of kind `schedule`, which cannot be listed under `activeCommitStatuses`",
            "13:14 strategies[0].activeCommitStatuses[1].key: `smoke-tests` is a gate of kind `schedule`, which cannot be listed under `activeCommitStatuses`",
            "18:10 gates[0].key: `Business-Hours` is not a valid computed gate key",
            "22:13 gates[1].commit: a gate has exactly one kind; this one has `schedule` and `commit`",
            "23:5 gates[2]: a gate needs one kind",
            "24:10 gates[3].key: gate `none` is already defined at gates[2]",
        ]
    );
}

#[test]
fn bad_values_inside_a_gate_are_each_reported() {
    let text = file(
        "  - key: business-hours\n    schedule:\n      timezone: Europe/Berlinn\n      allow: [{cron: '0 25 * * *', duration: 8x}]\n      exclude: [{cron: '0 0 * *', duration: 1h, colour: red}]\n      environments:\n        environment/qa: {}\n  - key: ticket-referenced\n    commit:\n      expression: 'commit.subject =='\n  - key: smoke-tests\n    webRequest:\n      url: 'ftp://x/{{ commit.sha }}'\n      headers: {X-Run: 12}\n      headersFromEnv: {'Bad Header': 'lower-case'}\n      success: 'true'\n      timeout: 2m\n",
    );
    let got = problems(&text);
    let want = [
        "20:17 gates[0].schedule.timezone: `Europe/Berlinn` is not an IANA time zone name (such as `UTC` or `Europe/Berlin`)",
        "21:22 gates[0].schedule.allow[0].cron: the hour field `25` has `25` outside 0–23",
        "21:46 gates[0].schedule.allow[0].duration: `8x` is not a duration",
        "22:24 gates[0].schedule.exclude[0].cron: `0 0 * *` has 4 fields; a cron expression has 5: minute hour day-of-month month day-of-week",
        "22:49 gates[0].schedule.exclude[0].colour: unknown key `colour`",
        "24:9 gates[0].schedule.environments.environment/qa: `environment/qa` is not the live branch of any environment",
        "27:19 gates[1].commit.expression: the expression does not compile: syntax error at line 1: unexpected end of input, expected expression",
        "30:12 gates[2].webRequest.url: the URL must start with `http://` or `https://`",
        "31:24 gates[2].webRequest.headers.X-Run: expected a string, found the number 12",
        "32:24 gates[2].webRequest.headersFromEnv.Bad Header: `Bad Header` is not an HTTP header name",
        "32:38 gates[2].webRequest.headersFromEnv.Bad Header: `lower-case` is not an environment variable name (letters, digits and `_`, not starting with a digit)",
        "34:16 gates[2].webRequest.timeout: `2m` is longer than the 60s a web request may take",
    ];
    assert_eq!(got, want);
}

#[test]
fn a_computed_key_takes_no_soak_time_and_unlisted_keys_stay_scm_gates() {
    let text = "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\nstrategies:\n  - name: app\n    activeCommitStatuses:\n      - key: smoke\n        soakTime: 1h\n      - key: e2e\n    environments:\n      - branch: environment/dev\ngates:\n  - key: smoke\n    webRequest: {url: 'http://127.0.0.1/', success: 'true'}\n";
    assert_eq!(
        problems(text),
        [
            "10:19 strategies[0].activeCommitStatuses[0].soakTime: `smoke` is a gate of kind `webRequest` from `gates:`; it takes no `soakTime`",
        ]
    );
    let fixed = text.replace("        soakTime: 1h\n", "");
    let config = parse(&fixed, Path::new("promotion.yaml"), &|_| None).unwrap();
    let gates = &config.strategies[0].environments[0].active_gates;
    assert!(gates[0].computed.is_some());
    assert!(gates[1].computed.is_none(), "e2e is read from the SCM");
}

#[test]
fn a_get_request_takes_no_body() {
    let text = file(
        "  - key: smoke-tests\n    webRequest: {url: 'http://127.0.0.1/', body: 'x', success: 'true'}\n",
    );
    let got = problems(&text);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].ends_with("gates[0].webRequest.body: a GET request has no body"),
        "{got:?}"
    );
}
