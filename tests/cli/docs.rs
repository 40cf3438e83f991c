//! The documentation against the code: every key of the promotion.yaml JSON Schema is documented
//! in docs/configuration.md.

use std::collections::BTreeSet;
use std::fs;

use serde_json::Value;

use crate::support::root;

/// Every property name in the schema, from every `properties` object at any depth (so the
/// definitions under `$defs` are included).
fn schema_property_names(node: &Value, names: &mut BTreeSet<String>) {
    match node {
        Value::Object(map) => {
            for (key, value) in map {
                if key == "properties"
                    && let Value::Object(properties) = value
                {
                    names.extend(properties.keys().cloned());
                }
                schema_property_names(value, names);
            }
        }
        Value::Array(items) => {
            for item in items {
                schema_property_names(item, names);
            }
        }
        _ => {}
    }
}

/// The identifiers inside inline code spans (outside fenced blocks): `scm.githubApp.appId` gives
/// `scm`, `githubApp` and `appId`; `strategies[].environments[].branch` gives three names too.
fn documented_names(markdown: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_fence = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Odd-numbered pieces between backticks are code spans.
        for span in line.split('`').skip(1).step_by(2) {
            names.extend(
                span.split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|word| !word.is_empty())
                    .map(str::to_owned),
            );
        }
    }
    names
}

#[test]
fn configuration_reference_documents_every_key_of_the_schema() {
    let mut keys = BTreeSet::new();
    schema_property_names(&promoter::config_schema(), &mut keys);
    // The walk reaches nested definitions, not just the top level.
    for expected in ["scm", "provider", "appId", "soakTime", "stagingBranch"] {
        assert!(
            keys.contains(expected),
            "schema walk missed `{expected}`: {keys:?}"
        );
    }
    let doc = fs::read_to_string(root().join("docs/configuration.md")).unwrap();
    let documented = documented_names(&doc);
    let missing: Vec<&String> = keys.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not name these schema keys in backticks: {missing:?}"
    );
}

#[test]
fn only_code_spans_outside_fences_count_as_documented() {
    let names = documented_names(
        "`scm.githubApp.appId` and appId\n```yaml\nsoakTime: 1m\n```\n`strategies[].branch`",
    );
    let expected: BTreeSet<String> = ["scm", "githubApp", "appId", "strategies", "branch"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(names, expected);
}

/// Every ```yaml block of README.md and docs/*.md that is a whole promotion.yaml (it has `scm`
/// and `strategies`), with the file and the block's line.
fn documented_configs() -> Vec<(String, String)> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<_> = fs::read_dir(root().join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        let mut block: Option<(usize, String)> = None;
        for (number, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim_start() == "```yaml" => block = Some((number + 2, String::new())),
                None => {}
                Some((start, body)) if line.trim_start() == "```" => {
                    let value: serde_yaml::Value = serde_yaml::from_str(body).unwrap_or_default();
                    if value.get("scm").is_some() && value.get("strategies").is_some() {
                        let name = file.strip_prefix(root()).unwrap().display();
                        found.push((format!("{name}:{start}"), body.clone()));
                    }
                    block = None;
                }
                Some((_, body)) => {
                    body.push_str(line);
                    body.push('\n');
                }
            }
        }
    }
    found
}

#[test]
fn every_promotion_yaml_shown_in_the_docs_validates() {
    let configs = documented_configs();
    let shown: BTreeSet<&str> = configs
        .iter()
        .map(|(at, _)| at.split(':').next().unwrap())
        .collect();
    // One working configuration per provider page at least.
    for page in [
        "docs/gitlab.md",
        "docs/gitea.md",
        "docs/azure-devops.md",
        "docs/github-app.md",
        "README.md",
    ] {
        assert!(
            shown.contains(page),
            "no promotion.yaml in {page}: {shown:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    for (at, yaml) in &configs {
        let path = dir.path().join("promotion.yaml");
        fs::write(&path, yaml).unwrap();
        let out = crate::support::promoter()
            .args(["validate", "-c"])
            .arg(&path)
            .env("HOME", dir.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{at} does not validate:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every file git tracks, as (repository-relative path, text); binary files are skipped.
fn tracked_text_files() -> Vec<(String, String)> {
    let out = std::process::Command::new("git")
        .args(["ls-files", "-z"])
        .current_dir(root())
        .output()
        .unwrap();
    assert!(out.status.success(), "git ls-files failed");
    out.stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| {
            let path = String::from_utf8(p.to_vec()).unwrap();
            let text = String::from_utf8(fs::read(root().join(&path)).ok()?).ok()?;
            Some((path, text))
        })
        .collect()
}

#[test]
fn no_tracked_file_refers_to_documents_outside_the_repository() {
    // Spelled in pieces so this file does not match itself.
    let outside = [
        format!("../{}", "shared"),
        format!("{}/fixtures", "shared"),
        format!("{} §", "SPEC"),
        format!("{}.md", "SPEC"),
    ];
    let mut found = Vec::new();
    for (path, text) in tracked_text_files() {
        for (n, line) in text.lines().enumerate() {
            if let Some(word) = outside.iter().find(|w| line.contains(w.as_str())) {
                found.push(format!("{path}:{}: {word}", n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "references outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_cited_design_section_exists() {
    let design = fs::read_to_string(root().join("docs/design.md")).unwrap();
    // Headings look like `## 3. The reconcile pass` or `### 4.1 Reading gates`.
    let sections: BTreeSet<String> = design
        .lines()
        .filter(|l| l.starts_with('#'))
        .filter_map(|l| l.trim_start_matches('#').split_whitespace().next())
        .map(|n| n.trim_end_matches('.').to_owned())
        .filter(|n| n.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    // Spelled in pieces so this file does not cite itself.
    let marker = format!("design.md {}", "§");
    let mut cited = 0;
    let mut missing = Vec::new();
    for (path, text) in tracked_text_files() {
        for (n, line) in text.lines().enumerate() {
            for (at, _) in line.match_indices(marker.as_str()) {
                let section: String = line[at + marker.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit() || *c == '.')
                    .collect();
                let section = section.trim_end_matches('.');
                cited += 1;
                if !sections.contains(section) {
                    missing.push(format!("{path}:{}: §{section}", n + 1));
                }
            }
        }
    }
    assert!(
        cited > 20,
        "expected the code to cite docs/design.md, found {cited} citations"
    );
    assert!(
        missing.is_empty(),
        "citations of sections docs/design.md does not have:\n{}",
        missing.join("\n")
    );
}

/// The modules a crate root declares (`mod x;` / `pub mod x;`), skipping inline test modules.
fn declared_modules(lib_rs: &str) -> Vec<String> {
    lib_rs
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            rest.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// The inline code spans of the section of docs/design.md that starts at `heading`.
fn code_spans_of_section(design: &str, heading: &str) -> BTreeSet<String> {
    let start = design
        .find(heading)
        .unwrap_or_else(|| panic!("docs/design.md has no heading {heading:?}"));
    let section = &design[start..];
    let end = section[heading.len()..]
        .find("\n## ")
        .map_or(section.len(), |at| at + heading.len());
    section[..end]
        .lines()
        .flat_map(|line| line.split('`').skip(1).step_by(2).map(str::to_owned))
        .collect()
}

#[test]
fn the_module_map_in_design_names_every_module_and_only_modules_that_exist() {
    let design = fs::read_to_string(root().join("docs/design.md")).expect("docs/design.md");
    let spans = code_spans_of_section(&design, "## 11. Code layout");
    let mut missing = Vec::new();
    for (crate_root, dir) in [("src/lib.rs", "src"), ("sandbox/src/lib.rs", "sandbox/src")] {
        let source = fs::read_to_string(root().join(crate_root)).expect(crate_root);
        for module in declared_modules(&source) {
            let file = format!("{dir}/{module}.rs");
            let folder = format!("{dir}/{module}");
            if !spans.contains(&file) && !spans.contains(&folder) {
                missing.push(file);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "docs/design.md §11 has no line for {missing:?}"
    );
    let stale: Vec<&String> = spans
        .iter()
        .filter(|span| span.starts_with("src/") || span.starts_with("sandbox/src/"))
        .filter(|span| !root().join(span).exists())
        .collect();
    assert!(
        stale.is_empty(),
        "docs/design.md §11 names paths that do not exist: {stale:?}"
    );
}

/// The non-test Rust files under `dir`, with their paths relative to the repository.
fn production_sources(dir: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut pending = vec![root().join(dir)];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).expect("a source folder").flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.contains("tests") || name == "test_server.rs" {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if name.ends_with(".rs") {
                let relative = path
                    .strip_prefix(root())
                    .expect("under the root")
                    .display()
                    .to_string();
                found.push((relative, fs::read_to_string(&path).expect("a source file")));
            }
        }
    }
    found
}

#[test]
fn the_lower_layers_do_not_import_the_upper_ones() {
    let rules: [(&str, &[&str]); 3] = [
        (
            "src/scm",
            &["reconcile", "report", "pass", "cli", "dashboard", "gates"],
        ),
        (
            "src/git",
            &["reconcile", "report", "pass", "cli", "dashboard", "gates"],
        ),
        (
            "src/gates",
            &["reconcile", "report", "pass", "cli", "dashboard"],
        ),
    ];
    let mut broken = Vec::new();
    for (dir, forbidden) in rules {
        for (path, text) in production_sources(dir) {
            for (number, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                for module in forbidden {
                    if code.contains(&format!("crate::{module}::"))
                        || code.contains(&format!("crate::{module};"))
                        || code.contains(&format!("crate::{module}}}"))
                    {
                        broken.push(format!("{path}:{}: {}", number + 1, line.trim()));
                    }
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "docs/design.md §11: lower layers import upper ones:\n{}",
        broken.join("\n")
    );
}
