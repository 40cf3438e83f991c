//! The dependency policy (docs/design.md §10 "Dependency policy"), checked from
//! `cargo metadata --locked --offline` instead of installing cargo-deny in CI: permissive licences
//! only in what ships, crates.io as the only source, one version of each crate in what ships (but
//! for the listed exceptions), no wildcard version requirement.
//!
//! "What ships" is the normal and build dependencies of promoter on every platform the release
//! workflow builds for, with features resolved as cargo resolves them: `cargo metadata
//! --filter-platform` evaluates the `cfg(...)` of each dependency for each target of
//! `.github/workflows/release.yml`, as cargo-deny's `[graph] targets` did. Dev-dependencies are test tools: their sources are checked, not their licences.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Every platform the release workflow builds for: its build matrix's `target`s.
fn targets() -> Vec<String> {
    let path = crate::support::root().join(".github/workflows/release.yml");
    let text = std::fs::read_to_string(&path).expect("read the release workflow");
    let workflow: serde_yaml::Value = serde_yaml::from_str(&text).expect("release.yml is YAML");
    let targets: Vec<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .expect("jobs.build.strategy.matrix.include in release.yml")
        .iter()
        .map(|entry| entry["target"].as_str().expect("a target").to_owned())
        .collect();
    assert!(!targets.is_empty(), "release.yml builds for no target");
    targets
}

/// Permissive licences only; promoter is Apache-2.0. SPDX identifiers.
const ALLOWED_LICENSES: &[&str] = &[
    "0BSD",
    "Apache-2.0",
    "BSD-3-Clause",
    // webpki-roots: Mozilla's root certificates as data.
    "CDLA-Permissive-2.0",
    "ISC",
    "MIT",
    "Unicode-3.0",
    "Unlicense",
    "Zlib",
];

/// Crates allowed in two versions in what ships, with the reason.
const SECOND_VERSIONS: &[(&str, &str, &str)] = &[(
    "getrandom",
    "0.2",
    "ring 0.17 (rustls' crypto) still uses getrandom 0.2; tempfile has moved on",
)];

const CRATES_IO: &[&str] = &[
    "registry+https://github.com/rust-lang/crates.io-index",
    "sparse+https://index.crates.io/",
];

/// `cargo metadata` for the locked graph. Offline first: every crate the build used is in the
/// local registry cache. Crates only other platforms use (and optional ones) may never have been
/// downloaded on this machine, e.g. in a fresh CI clone; cargo then needs crates.io to read their
/// manifests, so the second try may go online (package registries are reachable in CI).
fn metadata(extra: &[&str]) -> Value {
    let cargo = option_env!("CARGO").unwrap_or("cargo");
    let run = |offline: bool| {
        let mut command = Command::new(cargo);
        command.args(["metadata", "--locked", "--format-version", "1"]);
        if offline {
            command.arg("--offline");
        }
        command
            .args(extra)
            .current_dir(crate::support::root())
            .output()
            .expect("run cargo metadata")
    };
    let mut out = run(true);
    if !out.status.success() {
        out = run(false);
    }
    assert!(
        out.status.success(),
        "cargo metadata {extra:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON")
}

/// The ids of the workspace's own packages (promoter, and any package beside it): their
/// licence is the repository's, their source its path.
fn members(meta: &Value) -> BTreeSet<String> {
    meta["workspace_members"]
        .as_array()
        .expect("workspace_members")
        .iter()
        .map(|id| id.as_str().expect("id").to_owned())
        .collect()
}

/// `(name, version, license)` of every package promoter ships on `target`, its own packages
/// left out.
fn shipped(target: &str) -> Vec<(String, String, Option<String>)> {
    let meta = metadata(&["--filter-platform", target]);
    let packages: BTreeMap<&str, &Value> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().expect("id"), p))
        .collect();
    let nodes: BTreeMap<&str, &Value> = meta["resolve"]["nodes"]
        .as_array()
        .expect("resolve")
        .iter()
        .map(|n| (n["id"].as_str().expect("id"), n))
        .collect();
    let root = meta["resolve"]["root"].as_str().expect("root package");
    let mut seen = BTreeSet::from([root]);
    let mut queue = vec![root];
    while let Some(id) = queue.pop() {
        for dep in nodes[id]["deps"].as_array().into_iter().flatten() {
            let ships = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            let dep_id = dep["pkg"].as_str().expect("pkg");
            if ships && seen.insert(dep_id) {
                queue.push(dep_id);
            }
        }
    }
    let members = members(&meta);
    seen.into_iter()
        .filter(|id| !members.contains(*id))
        .map(|id| {
            let p = packages[id];
            (
                p["name"].as_str().expect("name").to_owned(),
                p["version"].as_str().expect("version").to_owned(),
                p["license"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn every_shipped_crate_has_a_permissive_licence() {
    let mut refused = BTreeSet::new();
    for target in targets() {
        for (name, version, license) in shipped(&target) {
            let ok = license
                .as_deref()
                .is_some_and(|l| spdx_allows(l, ALLOWED_LICENSES));
            if !ok {
                refused.insert(format!("{name} {version}: {license:?} (on {target})"));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "crates whose licence expression no allowed licence satisfies (allowed: {ALLOWED_LICENSES:?}); \
         replace the crate, or add the licence to ALLOWED_LICENSES with its reason:\n{}",
        refused.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_crate_comes_from_crates_io() {
    let meta = metadata(&[]);
    let members = members(&meta);
    let outside: Vec<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .filter(|p| !p["id"].as_str().is_some_and(|id| members.contains(id)))
        .filter(|p| !p["source"].as_str().is_some_and(|s| CRATES_IO.contains(&s)))
        .map(|p| format!("{} {} from {}", p["name"], p["version"], p["source"]))
        .collect();
    assert!(
        outside.is_empty(),
        "crates from somewhere other than crates.io (git, path or another registry):\n{}",
        outside.join("\n")
    );
}

#[test]
fn no_crate_ships_in_two_versions_but_the_listed_ones() {
    let mut doubled = BTreeSet::new();
    for target in targets() {
        let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (name, version, _) in shipped(&target) {
            versions.entry(name).or_default().push(version);
        }
        for (name, versions) in versions.into_iter().filter(|(_, v)| v.len() > 1) {
            let extra: Vec<&String> = versions
                .iter()
                .filter(|v| {
                    !SECOND_VERSIONS.iter().any(|(skip, prefix, _)| {
                        *skip == name
                            && v.strip_prefix(prefix)
                                .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
                    })
                })
                .collect();
            if extra.len() > 1 {
                doubled.insert(format!("{name}: {versions:?} (on {target})"));
            }
        }
    }
    assert!(
        doubled.is_empty(),
        "crates built in more than one version (see `cargo tree -d`); align the versions, or add \
         one to SECOND_VERSIONS with its reason:\n{}",
        doubled.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn no_dependency_is_a_wildcard() {
    let meta = metadata(&["--no-deps"]);
    let wild: Vec<String> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .flat_map(|p| {
            p["dependencies"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|d| d["req"] == "*")
                .map(move |d| format!("{} → {}", p["name"], d["name"]))
        })
        .collect();
    assert!(
        wild.is_empty(),
        "dependencies without a version requirement: {wild:?}"
    );
}

/// Whether an SPDX license expression is satisfied by the `allowed` licences: `OR` needs one
/// side, `AND` both, parentheses group, `X WITH exception` is `X` (an exception only grants
/// more), and the old `MIT/Apache-2.0` form is an `OR`. An expression that does not parse is
/// not allowed.
fn spdx_allows(expression: &str, allowed: &[&str]) -> bool {
    let spaced = expression
        .replace('(', " ( ")
        .replace(')', " ) ")
        .replace('/', " OR ");
    let tokens: Vec<&str> = spaced.split_whitespace().collect();
    let mut at = 0;
    let result = or_expression(&tokens, &mut at, allowed);
    result == Some(true) && at == tokens.len()
}

fn or_expression(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Option<bool> {
    let mut value = and_expression(tokens, at, allowed)?;
    while tokens.get(*at) == Some(&"OR") {
        *at += 1;
        value |= and_expression(tokens, at, allowed)?;
    }
    Some(value)
}

fn and_expression(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Option<bool> {
    let mut value = licence(tokens, at, allowed)?;
    while tokens.get(*at) == Some(&"AND") {
        *at += 1;
        value &= licence(tokens, at, allowed)?;
    }
    Some(value)
}

fn licence(tokens: &[&str], at: &mut usize, allowed: &[&str]) -> Option<bool> {
    let token = *tokens.get(*at)?;
    *at += 1;
    if token == "(" {
        let value = or_expression(tokens, at, allowed)?;
        if tokens.get(*at) != Some(&")") {
            return None;
        }
        *at += 1;
        return Some(value);
    }
    if matches!(token, ")" | "OR" | "AND" | "WITH") {
        return None;
    }
    if tokens.get(*at) == Some(&"WITH") {
        *at += 2;
        if *at > tokens.len() {
            return None;
        }
    }
    Some(allowed.contains(&token))
}

#[test]
fn licence_expressions_are_read_as_spdx_says() {
    let allowed = &["MIT", "Apache-2.0"];
    for (expression, ok) in [
        ("MIT", true),
        ("GPL-3.0-only", false),
        ("MIT OR GPL-3.0-only", true),
        ("MIT AND GPL-3.0-only", false),
        ("(MIT OR Apache-2.0) AND BSD-3-Clause", false),
        ("(MIT OR Apache-2.0) AND (Apache-2.0 OR GPL-2.0)", true),
        ("Apache-2.0 WITH LLVM-exception OR GPL-2.0", true),
        ("GPL-2.0 WITH Classpath-exception-2.0", false),
        ("MIT/Apache-2.0", true),
        ("MIT OR", false),
        ("(MIT", false),
        ("", false),
    ] {
        assert_eq!(spdx_allows(expression, allowed), ok, "{expression}");
    }
}
