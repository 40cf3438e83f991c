//! From promotion.yaml text to the checked [`Config`], collecting every problem at once: the
//! characters (`bytes.rs`; fatal, alone), YAML syntax and size limits (`document.rs`; fatal,
//! alone), then structure (`structure.rs`, driven by the JSON Schema of `raw.rs`), then serde into
//! the raw types, then the meaning (docs/design.md §2 rules) and the defaults (`defaults.rs`).
//! Semantic problems at a path the structural pass already reported are dropped, so one mistake is
//! reported once.
//!
//! Owns the rules and their wording. Does not own reading the file (`mod.rs`) or the shape of the
//! file (`raw.rs`).

mod branch;
mod dashboard;
mod gates;
mod scm;
mod strategy;

pub(super) use scm::token_hint;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::ci_env::Env;

use super::Config;
use super::document::{Document, Pos};
use super::problem::{ConfigErrors, Problem};
use super::raw::{self, RawConfig};

/// Checks `text` (read from `file`, named in every problem) and applies the defaults, reading the
/// environment only through `env`.
pub(super) fn check(text: &str, file: &Path, env: Env<'_>) -> Result<Config, ConfigErrors> {
    let text = super::bytes::check(text.as_bytes())
        .map_err(|problems| ConfigErrors::new(file, problems))?;
    let doc = Document::parse(text).map_err(|problem| {
        ConfigErrors::new(
            file,
            vec![Problem::new(problem.pos, problem.path, problem.message)],
        )
    })?;
    let mut problems: Vec<Problem> = doc
        .problems
        .iter()
        .map(|p| {
            Problem::new(p.pos, p.path.clone(), p.message.clone())
                .with_hint("remove one of them; YAML keys must be unique in a mapping")
        })
        .collect();
    let mut value = doc.value.clone();
    let placeholders = super::structure::check(&doc, &raw::schema(), &mut value, &mut problems);
    let raw: RawConfig = match serde_json::from_value(value) {
        Ok(raw) => raw,
        Err(error) => {
            // The structural pass repairs what serde would refuse; reaching this is a bug there.
            problems.push(Problem::new(
                Pos::START,
                "",
                format!("cannot read the file: {error}"),
            ));
            return Err(ConfigErrors::new(file, problems));
        }
    };
    let mut checker = Checker {
        doc: &doc,
        file,
        env,
        problems: Vec::new(),
        definitions: BTreeMap::new(),
        schedule_branches: Vec::new(),
    };
    let config = checker.config(raw);
    // A set, so the filter stays linear: a hostile file can hold tens of thousands of problems.
    let structural: BTreeSet<String> = problems
        .iter()
        .map(|p| p.path.clone())
        .chain(placeholders)
        .collect();
    problems.extend(
        checker
            .problems
            .into_iter()
            .filter(|semantic| !covered(&structural, &semantic.path)),
    );
    match config {
        Some(config) if problems.is_empty() => Ok(config),
        _ => Err(ConfigErrors::new(file, problems)),
    }
}

/// Whether `path` or one of its ancestors (`a.b[0]` → `a.b`, `a`, the whole file) is in `paths`:
/// a problem there covers this one. Looked up, not compared one by one, so it stays linear.
fn covered(paths: &BTreeSet<String>, path: &str) -> bool {
    let mut current = path;
    loop {
        if paths.contains(current) {
            return true;
        }
        match current.rfind(['.', '[']) {
            Some(cut) => current = &current[..cut],
            None => return paths.contains(""),
        }
    }
}

/// Parses a duration: an integer and one unit, `s`, `m`, `h` or `d` (`90s`, `30m`, `2h`, `1d`).
/// Zero is refused: a zero soak is no gate at all.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    // The unit is the last character, which need not be one byte (`90\u{200B}`).
    let unit_at = text.char_indices().last().map_or(0, |(at, _)| at);
    let (number, unit) = text.split_at(unit_at);
    let seconds_per_unit: u64 = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 60 * 60,
        "d" => 24 * 60 * 60,
        _ => return Err(format!("`{text}` is not a duration")),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("`{text}` is not a duration"));
    }
    let count: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is too long a duration"))?;
    let seconds = count
        .checked_mul(seconds_per_unit)
        .ok_or_else(|| format!("`{text}` is too long a duration"))?;
    if seconds == 0 {
        return Err(format!("`{text}` is zero; a soak time must be longer"));
    }
    Ok(Duration::from_secs(seconds))
}

/// A duration in the largest unit that divides it exactly: `90s`, `30m`, `2h`, `1d`.
pub(crate) fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    for (size, unit) in [(86_400, "d"), (3_600, "h"), (60, "m")] {
        if seconds >= size && seconds.is_multiple_of(size) {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

const DURATION_HINT: &str = "write an integer and one unit: `90s`, `30m`, `2h` or `1d`";

fn check_env_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_');
    if first_ok && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(())
    } else {
        Err(format!(
            "`{name}` is not an environment variable name (letters, digits and `_`, not starting with a digit)"
        ))
    }
}

struct Checker<'a> {
    doc: &'a Document,
    file: &'a Path,
    env: Env<'a>,
    problems: Vec<Problem>,
    /// The valid `gates:` entries by key, for the strategies' gate lists.
    definitions: BTreeMap<String, Arc<crate::config::GateDefinition>>,
    /// Branches listed under a schedule's `environments`, with their path; checked against the
    /// live branches once the strategies are read.
    schedule_branches: Vec<(crate::model::BranchName, String)>,
}

impl Checker<'_> {
    fn at_value(&mut self, path: &str, message: impl Into<String>) -> &mut Problem {
        let problem = Problem::new(self.doc.value_pos(path), path, message);
        self.problems.push(problem);
        self.problems.last_mut().expect("just pushed")
    }

    fn at_key(&mut self, path: &str, message: impl Into<String>) -> &mut Problem {
        let problem = Problem::new(self.doc.key_pos(path), path, message);
        self.problems.push(problem);
        self.problems.last_mut().expect("just pushed")
    }

    pub(super) fn config(&mut self, raw: RawConfig) -> Option<Config> {
        let scm = self.scm(&raw.scm);
        let repository = scm
            .as_ref()
            .and_then(|scm| self.repository(raw.repository.as_ref(), scm));
        let pull_request = self.pull_request(raw.pull_request.as_ref());
        let gates = self.gate_definitions(&raw.gates);
        let strategies = self.strategies(&raw.strategies);
        let live: BTreeSet<String> = raw
            .strategies
            .iter()
            .flat_map(|s| &s.environments)
            .map(|e| e.branch.clone())
            .collect();
        self.schedule_branches_exist(&live);
        let dashboard = self.dashboard(raw.dashboard.as_ref());
        if let Some((scm, _)) = &scm {
            self.provider_can(
                scm.provider,
                pull_request.hold_label.is_some(),
                dashboard.is_some(),
            );
        }
        Some(Config {
            path: self.file.to_owned(),
            scm: scm?.0,
            repository: repository?,
            pull_request,
            strategies: strategies?,
            dashboard,
            gates,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// `line:column path: message` for every problem in `text`, with an empty environment.
    pub(crate) fn problems(text: &str) -> Vec<String> {
        match check(text, Path::new("promotion.yaml"), &|_| None) {
            Ok(_) => Vec::new(),
            Err(errors) => errors
                .problems
                .iter()
                .map(|p| format!("{}:{} {}: {}", p.pos.line, p.pos.column, p.path, p.message))
                .collect(),
        }
    }

    /// A valid file with `strategies` replaced by `strategies_yaml`.
    pub(crate) fn with_strategies(strategies_yaml: &str) -> String {
        format!(
            "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\nstrategies:\n{strategies_yaml}"
        )
    }

    #[test]
    fn a_problem_covers_its_path_and_what_is_inside() {
        let paths: BTreeSet<String> = ["strategies[1]".to_owned()].into();
        assert!(covered(&paths, "strategies[1]"));
        assert!(covered(&paths, "strategies[1].name"));
        assert!(covered(&paths, "strategies[1][0]"));
        assert!(!covered(&paths, "strategies[10]"));
        assert!(!covered(&paths, "strategies"));
        assert!(covered(&[String::new()].into(), "repository"));
    }

    #[test]
    fn durations_are_an_integer_and_one_unit() {
        let cases = [
            ("90s", Some(90)),
            ("30m", Some(1_800)),
            ("2h", Some(7_200)),
            ("1d", Some(86_400)),
            ("0s", None),
            ("1h30m", None),
            ("30", None),
            ("m", None),
            ("-1m", None),
            ("1.5h", None),
            ("30 m", None),
            ("2w", None),
            ("99999999999999999999d", None),
            ("90\u{200B}", None),
            ("é", None),
            ("", None),
        ];
        for (text, seconds) in cases {
            assert_eq!(
                parse_duration(text).ok().map(|d| d.as_secs()),
                seconds,
                "{text}"
            );
        }
    }

    #[test]
    fn durations_print_in_their_largest_exact_unit() {
        for (seconds, text) in [
            (90, "90s"),
            (1_800, "30m"),
            (7_200, "2h"),
            (86_400, "1d"),
            (90_000, "25h"),
        ] {
            assert_eq!(format_duration(Duration::from_secs(seconds)), text);
        }
    }

    #[test]
    fn a_valid_file_has_no_problem() {
        let text =
            with_strategies("  - name: app\n    environments:\n      - branch: environment/dev\n");
        assert_eq!(problems(&text), Vec::<String>::new());
    }

    #[test]
    fn a_semantic_problem_under_a_structural_one_is_reported_once() {
        // `branch: 12` is a wrong type; the placeholder branch must not add "not a valid branch name".
        let text = with_strategies("  - name: app\n    environments:\n      - branch: 12\n");
        assert_eq!(
            problems(&text),
            ["9:17 strategies[0].environments[0].branch: expected a string, found the number 12"]
        );
    }
}
