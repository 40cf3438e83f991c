//! A bounded random-mutation test of the config loader, in the normal suite: the example configs
//! and the invalid test files, each mutated at random (NUL and control bytes, random bytes,
//! invisible characters, truncation, deep nesting, aliases and alias bombs, duplicated, dropped and
//! re-indented lines, YAML punctuation, long values), then loaded as a file. Whatever the bytes:
//! no panic, no abort, and either a valid config or a configuration error in which every problem
//! has a line and column inside the file.
//!
//! The rounds run in a child process of this test binary under `ulimit -v`: run against a loader
//! without its limits, an alias bomb among the mutations grew the test process to 23 GB before
//! the kernel killed it. With the limit, a regression is an allocation failure in the child and a
//! failed test here.
//!
//! Deterministic (fixed seeds; a failure prints the seed and keeps the input). Set
//! `PROMOTER_MUTATION_ROUNDS` to run more rounds locally.

use std::fmt::Write as _;
use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use promoter::LoadError;

use crate::support::{data, env_table, root};

const ROUNDS: u64 = 600;

/// The inputs mutated: every example config and every invalid test file.
fn corpus() -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = ["examples/promotion.yaml", "examples/promotion.full.yaml"]
        .iter()
        .map(|name| root().join(name))
        .collect();
    let mut invalid: Vec<PathBuf> = fs::read_dir(data("invalid"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    invalid.sort();
    files.extend(invalid);
    files.iter().map(|path| fs::read(path).unwrap()).collect()
}

/// Byte offsets where lines start.
fn line_starts(bytes: &[u8]) -> Vec<usize> {
    std::iter::once(0)
        .chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| **b == b'\n')
                .map(|(i, _)| i + 1),
        )
        .collect()
}

/// Where the value of a `key: value` line starts.
fn value_start(line: &[u8]) -> Option<usize> {
    line.windows(2)
        .position(|w| w == b": ")
        .map(|colon| colon + 2)
}

/// One random change to `bytes`.
fn mutate_once(rng: &mut fastrand::Rng, bytes: &mut Vec<u8>) {
    let at = rng.usize(0..=bytes.len());
    let starts = line_starts(bytes);
    let line = rng.usize(0..starts.len());
    let line_start = starts[line];
    let line_end = starts.get(line + 1).copied().unwrap_or(bytes.len());
    match rng.u8(0..16) {
        0 => bytes.insert(at, 0),
        1 => bytes.insert(
            at,
            *rng.choice(&[1u8, 7, 8, 0x0b, 0x0c, 0x1b, 0x7f]).unwrap(),
        ),
        2 => bytes.insert(at, rng.u8(..)),
        3 => bytes.truncate(at),
        4 => {
            bytes.drain(line_start..line_end);
        }
        5 => {
            let copy = bytes[line_start..line_end].to_vec();
            bytes.splice(line_end..line_end, copy);
        }
        6 => {
            // Re-indent a line by -2..=+3 spaces.
            let shift = rng.i8(-2..=3);
            if shift > 0 {
                bytes.splice(line_start..line_start, vec![b' '; shift as usize]);
            } else {
                let spaces = bytes[line_start..line_end]
                    .iter()
                    .take_while(|b| **b == b' ')
                    .count();
                let cut = spaces.min(shift.unsigned_abs() as usize);
                bytes.drain(line_start..line_start + cut);
            }
        }
        7 => {
            let punctuation = b":-[]{}&*!|>\"'#%@`?,";
            bytes.insert(at, *rng.choice(punctuation).unwrap());
        }
        8 => {
            let odd = rng
                .choice([
                    "\u{200B}", "\u{202E}", "\u{A0}", "\u{FEFF}", "é", "\u{85}", "\t",
                ])
                .unwrap();
            bytes.splice(at..at, odd.bytes());
        }
        9 => {
            let depth = rng.usize(1..400);
            let nested = match rng.u8(0..3) {
                0 => format!("deep: {}x{}\n", "[".repeat(depth), "]".repeat(depth)),
                1 => format!("deep:\n{}x\n", "- ".repeat(depth)),
                _ => {
                    // Every level anchored: each anchor keeps a copy of what it holds.
                    let opening: String = (0..depth).map(|level| format!("&d{level} [")).collect();
                    format!("deep: {opening}x{}\n", "]".repeat(depth))
                }
            };
            bytes.splice(line_start..line_start, nested.bytes());
        }
        10 => {
            let mut bomb = String::from("bomb0: &b0 [x, x, x, x, x, x, x, x, x]\n");
            for level in 1..rng.usize(2..10) {
                let copies = vec![format!("*b{}", level - 1); 9].join(", ");
                let _ = writeln!(bomb, "bomb{level}: &b{level} [{copies}]");
            }
            bytes.splice(line_start..line_start, bomb.bytes());
        }
        11 => {
            // Anchor a value on this line and use it on another.
            if let Some(value_at) = value_start(&bytes[line_start..line_end]) {
                let value_at = line_start + value_at;
                bytes.splice(value_at..value_at, b"&v ".iter().copied());
                let other = starts[rng.usize(0..starts.len())];
                let indent = rng.usize(0..8);
                let alias = format!("{}key: *v\n", " ".repeat(indent));
                let other = other.min(bytes.len());
                bytes.splice(other..other, alias.bytes());
            }
        }
        12 => {
            if let Some(value_at) = value_start(&bytes[line_start..line_end]) {
                let value_at = line_start + value_at;
                let long = "v".repeat(rng.usize(200..5_000));
                bytes.splice(value_at..value_at, long.bytes());
            }
        }
        13 => {
            let document = rng
                .choice(["---\n", "...\n", "%YAML 1.2\n", "--- !tag\n"])
                .unwrap();
            bytes.splice(line_start..line_start, document.bytes());
        }
        14 => {
            let from = rng.usize(0..=bytes.len());
            let to = rng.usize(from..=bytes.len().min(from + 40));
            bytes.drain(from..to);
        }
        _ => {
            let key = rng
                .choice([
                    "scm",
                    "strategies",
                    "branch",
                    "autoMerge",
                    "soakTime",
                    "key",
                ])
                .unwrap();
            let text = if rng.bool() {
                format!("{key}: {}\n", rng.u32(..))
            } else {
                // Escapes YAML turns into a line break, a bidi override, NUL.
                format!("\"{key}\\n\": \"x\\ny\\u202E\\0\"\n")
            };
            bytes.splice(line_start..line_start, text.bytes());
        }
    }
}

#[test]
fn any_mutation_of_a_config_loads_or_fails_with_located_problems() {
    let this_binary = std::env::current_exe().unwrap();
    let mut child = assert_cmd::Command::new("/bin/sh");
    child
        .arg("-c")
        .arg("ulimit -v 2097152 && exec \"$0\" \"$@\"")
        .arg(this_binary)
        .args([
            "--exact",
            "config_mutations::mutation_rounds",
            "--ignored",
            "--test-threads=1",
            "--nocapture",
        ])
        .timeout(std::time::Duration::from_secs(600));
    if let Ok(rounds) = std::env::var("PROMOTER_MUTATION_ROUNDS") {
        child.env("PROMOTER_MUTATION_ROUNDS", rounds);
    }
    child
        .assert()
        .success()
        .stdout(predicates::str::contains("1 passed"));
}

#[test]
#[ignore = "run by any_mutation_of_a_config_loads_or_fails_with_located_problems, under ulimit -v"]
fn mutation_rounds() {
    let rounds = std::env::var("PROMOTER_MUTATION_ROUNDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(ROUNDS);
    let corpus = corpus();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("promotion.yaml");
    let env = env_table(&[]);
    let (mut valid, mut invalid) = (0, 0);
    for seed in 0..rounds {
        let mut rng = fastrand::Rng::with_seed(0x1157 + seed);
        let mut bytes = rng.choice(&corpus).unwrap().clone();
        for _ in 0..rng.usize(1..=4) {
            mutate_once(&mut rng, &mut bytes);
        }
        fs::write(&path, &bytes).unwrap();
        let loaded = catch_unwind(AssertUnwindSafe(|| promoter::load_config(&path, &env)));
        let keep = || {
            let kept = std::env::temp_dir().join(format!("promoter-mutation-{seed}.yaml"));
            fs::write(&kept, &bytes).unwrap();
            kept
        };
        let errors = match loaded {
            Err(_) => panic!("seed {seed}: the loader panicked on {}", keep().display()),
            Ok(Ok(_)) => {
                valid += 1;
                continue;
            }
            Ok(Err(LoadError::Invalid(errors))) => errors,
            Ok(Err(other)) => panic!("seed {seed}: {other:?} on {}", keep().display()),
        };
        invalid += 1;
        // A problem may point just past the last line (a missing key at the end of the file).
        let lines = line_starts(&bytes).len() + 1;
        assert!(
            !errors.problems.is_empty(),
            "seed {seed}: {}",
            keep().display()
        );
        for problem in &errors.problems {
            assert!(
                problem.pos.line >= 1 && problem.pos.line <= lines && problem.pos.column >= 1,
                "seed {seed}: {problem:?} outside the file ({lines} lines): {}",
                keep().display()
            );
        }
        let shown = errors.to_string();
        let prefix = format!("{}:", path.display());
        for line in shown.lines().filter(|line| !line.starts_with("  hint: ")) {
            let located = line.strip_prefix(&prefix).is_some_and(|rest| {
                let mut parts = rest.splitn(3, ':');
                parts.next().is_some_and(|l| l.parse::<usize>().is_ok())
                    && parts.next().is_some_and(|c| c.parse::<usize>().is_ok())
            });
            assert!(
                located,
                "seed {seed}: a problem line without file:line:column: {line:?} ({})",
                keep().display()
            );
        }
    }
    // Both outcomes must occur, or the mutations test nothing.
    assert!(
        valid > 0 && invalid > rounds / 2,
        "{valid} valid, {invalid} invalid"
    );
}
