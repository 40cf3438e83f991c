//! CI log sections (issue 6): with `-v`, the fetch details and each strategy's SCM request log are
//! folded — GitLab CI `section_start`/`section_end` markers, GitHub Actions `::group::` — by the
//! real binary against the sandbox forge. Without `-v` nothing is folded.

use crate::reconcile::{Forge, TOKEN, World, output};

fn no_extra(_: usize) -> String {
    String::new()
}

/// A world with something to promote, so the pass reads and writes through the SCM.
fn world() -> World {
    let mut world = World::new(Forge::Github, &["dev", "staging"]);
    let dry = world.dry_change("change");
    world.hydrate_all(&dry);
    world.config("", &no_extra);
    world
}

/// `promoter reconcile <args>` with `var=true` set (and no other CI variable: the command starts
/// from an empty environment).
fn reconcile_in(world: &World, var: &str, args: &[&str]) -> (String, String) {
    let mut command = world.command(&["reconcile"], TOKEN);
    command.args(args).env(var, "true");
    output(&command.assert().success())
}

fn is_request(line: &str) -> bool {
    ["  GET ", "  POST ", "  PATCH ", "  PUT "]
        .iter()
        .any(|method| line.starts_with(method))
}

/// A GitLab marker line `\x1b[0Ksection_<kind>:<ts>:<name>...`: `(ts, rest after the name's colon)`.
fn gitlab_marker<'a>(line: &'a str, kind: &str) -> Option<(i64, &'a str)> {
    let rest = line.strip_prefix(&format!("\x1b[0Ksection_{kind}:"))?;
    let (ts, rest) = rest.split_once(':')?;
    Some((ts.parse().ok()?, rest))
}

#[test]
fn in_gitlab_ci_the_verbose_log_is_in_collapsed_sections() {
    let world = world();
    let (_, stderr) = reconcile_in(&world, "GITLAB_CI", &["-v"]);
    let lines: Vec<&str> = stderr.lines().collect();

    let fetch_start = lines
        .iter()
        .position(|l| {
            gitlab_marker(l, "start").is_some_and(|(_, rest)| {
                rest.starts_with("fetch[collapsed=true]\r\x1b[0Kfetching from http://127.0.0.1:")
            })
        })
        .unwrap_or_else(|| panic!("no fetch section in:\n{stderr}"));
    let fetch_end = lines
        .iter()
        .position(|l| gitlab_marker(l, "end").is_some_and(|(_, rest)| rest == "fetch\r\x1b[0K"))
        .unwrap_or_else(|| panic!("no end of the fetch section in:\n{stderr}"));
    let fetched = lines
        .iter()
        .position(|l| l.starts_with("fetched "))
        .unwrap_or_else(|| panic!("no fetch line in:\n{stderr}"));
    assert!(fetch_start < fetched && fetched < fetch_end, "{stderr}");

    let start = lines
        .iter()
        .position(|l| {
            gitlab_marker(l, "start").is_some_and(|(_, rest)| {
                rest == "strategy_app[collapsed=true]\r\x1b[0Kstrategy app"
            })
        })
        .unwrap_or_else(|| panic!("no strategy section in:\n{stderr}"));
    let end = lines
        .iter()
        .position(|l| {
            gitlab_marker(l, "end").is_some_and(|(_, rest)| rest == "strategy_app\r\x1b[0K")
        })
        .unwrap_or_else(|| panic!("no end of the strategy section in:\n{stderr}"));
    let (started, _) = gitlab_marker(lines[start], "start").unwrap();
    let (ended, _) = gitlab_marker(lines[end], "end").unwrap();
    assert!(started > 1_600_000_000 && ended >= started, "{stderr}");

    let requests: Vec<usize> = (0..lines.len()).filter(|&i| is_request(lines[i])).collect();
    assert!(
        requests.iter().any(|l| lines[*l].starts_with("  POST ")),
        "the pass wrote through the SCM:\n{stderr}"
    );
    // Every SCM request of the strategy is inside its section.
    assert!(requests.iter().all(|&i| start < i && i < end), "{stderr}");
    assert!(fetch_end < start, "sections do not nest:\n{stderr}");
}

#[test]
fn in_github_actions_the_verbose_log_is_grouped() {
    let world = world();
    let (_, stderr) = reconcile_in(&world, "GITHUB_ACTIONS", &["-v"]);
    let lines: Vec<&str> = stderr.lines().collect();
    let opens: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].starts_with("::group::"))
        .collect();
    let closes: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i] == "::endgroup::")
        .collect();
    assert_eq!(opens.len(), 2, "the fetch and one strategy:\n{stderr}");
    assert_eq!(closes.len(), 2, "{stderr}");
    assert!(
        lines[opens[0]].starts_with("::group::fetching from http://127.0.0.1:"),
        "{stderr}"
    );
    assert_eq!(lines[opens[1]], "::group::strategy app", "{stderr}");
    // Open, close, open, close: GitHub groups cannot nest.
    assert!(
        opens[0] < closes[0] && closes[0] < opens[1] && opens[1] < closes[1],
        "{stderr}"
    );
    let requests: Vec<usize> = (0..lines.len()).filter(|&i| is_request(lines[i])).collect();
    assert!(!requests.is_empty(), "{stderr}");
    assert!(
        requests.iter().all(|&i| opens[1] < i && i < closes[1]),
        "{stderr}"
    );
}

#[test]
fn without_verbose_nothing_is_folded_and_the_write_lines_stay_visible() {
    for var in ["GITLAB_CI", "GITHUB_ACTIONS"] {
        let (_, stderr) = reconcile_in(&world(), var, &[]);
        assert!(
            stderr.contains("     Opening environment/dev-next → environment/dev"),
            "{var}:\n{stderr}"
        );
        assert!(!stderr.contains("section_start"), "{var}:\n{stderr}");
        assert!(!stderr.contains("::group::"), "{var}:\n{stderr}");
    }
}

#[test]
fn outside_ci_the_verbose_log_has_no_markers() {
    let world = world();
    let (_, stderr) = output(&world.promoter(&["reconcile", "-v"]).success());
    assert!(stderr.lines().any(is_request), "{stderr}");
    assert!(!stderr.contains("section_"), "{stderr}");
    assert!(!stderr.contains("::group::"), "{stderr}");
}
