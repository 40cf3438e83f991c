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
    schema_property_names(&promoter::config::raw::schema(), &mut keys);
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
