//! Structural checks of promotion.yaml, driven by the JSON Schema generated from `raw.rs`: unknown
//! keys (with a did-you-mean hint), wrong types, missing required keys, unknown enum values.
//!
//! Every problem is collected, and the value is repaired as it is walked (unknown keys removed,
//! wrong optional values dropped, wrong required values replaced by a placeholder) so serde can
//! still build the raw types and the semantic checks can run on everything else. Semantic problems
//! at a path this pass already reported are dropped by the caller. Patterns and lengths are left to
//! the semantic checks, which word them better.

use serde_json::{Map, Value};

use super::document::{Document, child_path, item_path};
use super::problem::{Problem, did_you_mean};

/// Walks `value` against `schema` (the root schema with its `$defs`), reporting into `problems`
/// and repairing `value` in place. Returns the paths that hold a placeholder without a problem of
/// their own (a required key reported as a misspelt unknown key): semantic problems there are noise.
pub(super) fn check(
    doc: &Document,
    schema: &Value,
    value: &mut Value,
    problems: &mut Vec<Problem>,
) -> Vec<String> {
    let mut walker = Walker {
        doc,
        root: schema,
        problems,
        covered: Vec::new(),
    };
    if !walker.walk(schema, value, "") {
        *value = walker.placeholder(schema);
        if let Some(problem) = walker.problems.last_mut() {
            problem.hint = Some(
                "the file is a mapping with `scm:` and `strategies:`; see examples/promotion.yaml"
                    .into(),
            );
        }
    }
    walker.covered
}

struct Walker<'a> {
    doc: &'a Document,
    root: &'a Value,
    problems: &'a mut Vec<Problem>,
    covered: Vec<String>,
}

impl<'a> Walker<'a> {
    /// Follows `$ref` into `$defs`.
    fn resolve(&self, mut schema: &'a Value) -> &'a Value {
        while let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            let name = reference.trim_start_matches("#/$defs/");
            match self.root.get("$defs").and_then(|defs| defs.get(name)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    }

    /// Checks `value`; returns false when it has the wrong type or value and the caller must repair
    /// it. Problems inside a value of the right type are repaired here.
    fn walk(&mut self, schema: &'a Value, value: &mut Value, path: &str) -> bool {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            // schemars writes `Option<Struct>` as anyOf [struct, null].
            let accepts_null = branches
                .iter()
                .any(|b| b.get("type") == Some(&"null".into()));
            if value.is_null() && accepts_null {
                return true;
            }
            let main = branches
                .iter()
                .find(|b| b.get("type") != Some(&"null".into()));
            return main.is_none_or(|main| self.walk(main, value, path));
        }
        let types = expected_types(schema);
        if !types.is_empty() && !types.iter().any(|t| has_type(value, t)) {
            self.wrong_type(&types, value, path);
            return false;
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
            && !allowed.contains(value)
        {
            self.not_in_enum(allowed, value, path);
            return false;
        }
        if let Some(minimum) = schema.get("minimum").and_then(Value::as_f64)
            && value.as_f64().is_some_and(|n| n < minimum)
        {
            self.problems.push(Problem::new(
                self.doc.value_pos(path),
                path,
                format!("must be at least {minimum}, found {value}"),
            ));
            return false;
        }
        match value {
            Value::Object(map) => self.walk_object(schema, map, path),
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (index, item) in items.iter_mut().enumerate() {
                        if !self.walk(item_schema, item, &item_path(path, index)) {
                            *item = self.placeholder(item_schema);
                        }
                    }
                }
            }
            _ => {}
        }
        true
    }

    fn walk_object(&mut self, schema: &'a Value, map: &mut Map<String, Value>, path: &str) {
        let properties = schema.get("properties").and_then(Value::as_object);
        let property = |key: &str| properties.and_then(|p| p.get(key));
        let known: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let additional = schema.get("additionalProperties");
        let closed = additional == Some(&Value::Bool(false));

        let keys: Vec<String> = map.keys().cloned().collect();
        // A misspelt required key is reported once, as unknown with its suggestion, not also missing.
        let mut suggested: Vec<&str> = Vec::new();
        for key in keys {
            let key_path = child_path(path, &key);
            let Some(property) = property(&key) else {
                if closed {
                    suggested.extend(self.unknown_key(&key, &known, &key_path));
                    map.remove(&key);
                } else if let Some(values) = additional.filter(|a| a.is_object()) {
                    // A map (`headers`, a schedule's `environments`): every value has one schema.
                    let keep = map
                        .get_mut(&key)
                        .is_some_and(|child| self.walk(values, child, &key_path));
                    if !keep {
                        map.remove(&key);
                    }
                }
                continue;
            };
            let Some(child) = map.get_mut(&key) else {
                continue;
            };
            if !self.walk(property, child, &key_path) {
                if required.contains(&key.as_str()) {
                    *child = self.placeholder(property);
                } else {
                    map.remove(&key);
                }
            }
        }
        for key in required {
            if map.contains_key(key) {
                continue;
            }
            let key_path = child_path(path, key);
            if suggested.contains(&key) {
                self.covered.push(key_path.clone());
            } else {
                let what = if path.is_empty() {
                    "the top level".to_owned()
                } else {
                    format!("`{path}`")
                };
                self.problems.push(
                    Problem::new(
                        self.doc.value_pos(path),
                        key_path,
                        format!("missing required key `{key}` in {what}"),
                    )
                    .with_hint(format!("add `{key}:` here")),
                );
            }
            if let Some(property) = property(key) {
                map.insert(key.to_owned(), self.placeholder(property));
            }
        }
    }

    /// Reports an unknown key; returns the known key it is probably a misspelling of.
    fn unknown_key(&mut self, key: &str, known: &[&'a str], path: &str) -> Option<&'a str> {
        let pos = self.doc.key_pos(path);
        let near = did_you_mean(key, known.iter().copied());
        let soak_misplaced = key == "soakTime" && path.contains("proposedCommitStatuses[");
        let near = if soak_misplaced { None } else { near };
        let problem = if soak_misplaced {
            Problem::new(
                pos,
                path,
                "`soakTime` is only allowed under `activeCommitStatuses`",
            )
            .with_hint(
                "a soak timer runs on the live tip: move this gate to `activeCommitStatuses`",
            )
        } else {
            let problem = Problem::new(pos, path, format!("unknown key `{key}`"));
            match near {
                Some(near) => problem.with_hint(format!("did you mean `{near}`?")),
                None => {
                    let known: Vec<String> = known.iter().map(|k| format!("`{k}`")).collect();
                    problem.with_hint(format!("known keys here: {}", known.join(", ")))
                }
            }
        };
        self.problems.push(problem);
        near
    }

    fn wrong_type(&mut self, types: &[&str], value: &Value, path: &str) {
        let wanted: Vec<&str> = types
            .iter()
            .filter(|t| **t != "null")
            .map(|t| describe_type(t))
            .collect();
        let mut problem = Problem::new(
            self.doc.value_pos(path),
            path,
            format!(
                "expected {}, found {}",
                wanted.join(" or "),
                describe_value(value)
            ),
        );
        if path.ends_with(".soakTime") && value.is_number() {
            problem = problem.with_hint(format!(
                "add a unit: `{value}s`, `{value}m`, `{value}h` or `{value}d`"
            ));
        } else if types.contains(&"string") && matches!(value, Value::Number(_) | Value::Bool(_)) {
            problem = problem.with_hint(format!("quote it: \"{value}\""));
        } else if types.contains(&"boolean")
            && let Some(text @ ("true" | "false")) = value.as_str()
        {
            problem = problem.with_hint(format!("write {text} without quotes"));
        }
        self.problems.push(problem);
    }

    fn not_in_enum(&mut self, allowed: &[Value], value: &Value, path: &str) {
        let names: Vec<&str> = allowed.iter().filter_map(Value::as_str).collect();
        let listed: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        let mut problem = Problem::new(
            self.doc.value_pos(path),
            path,
            format!(
                "{} is not one of {}",
                describe_value(value),
                listed.join(", ")
            ),
        );
        if let Some(near) = value
            .as_str()
            .and_then(|text| did_you_mean(text, names.iter().copied()))
        {
            problem = problem.with_hint(format!("did you mean `{near}`?"));
        }
        self.problems.push(problem);
    }

    /// A value of the right shape standing in for a wrong one, so deserialisation can go on.
    fn placeholder(&self, schema: &'a Value) -> Value {
        let schema = self.resolve(schema);
        if let Some(branches) = schema.get("anyOf").and_then(Value::as_array) {
            return match branches
                .iter()
                .find(|b| b.get("type") == Some(&"null".into()))
            {
                Some(_) => Value::Null,
                None => branches
                    .first()
                    .map_or(Value::Null, |b| self.placeholder(b)),
            };
        }
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        match expected_types(schema).first().copied() {
            Some("object") => {
                let mut map = Map::new();
                let required = schema.get("required").and_then(Value::as_array);
                for key in required.into_iter().flatten().filter_map(Value::as_str) {
                    if let Some(property) = schema.get("properties").and_then(|p| p.get(key)) {
                        map.insert(key.to_owned(), self.placeholder(property));
                    }
                }
                Value::Object(map)
            }
            Some("array") => Value::Array(Vec::new()),
            Some("string") => Value::String(String::new()),
            Some("integer" | "number") => Value::from(0),
            Some("boolean") => Value::Bool(false),
            _ => Value::Null,
        }
    }
}

fn expected_types(schema: &Value) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

fn has_type(value: &Value, wanted: &str) -> bool {
    match wanted {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        _ => true,
    }
}

fn describe_type(wanted: &str) -> &'static str {
    match wanted {
        "object" => "a mapping",
        "array" => "a list",
        "string" => "a string",
        "integer" => "an integer",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "something else",
    }
}

fn describe_value(value: &Value) -> String {
    match value {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("`{b}`"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string `{s}`"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::raw;

    fn problems(text: &str) -> (Vec<String>, Value) {
        let doc = Document::parse(text).unwrap();
        let mut value = doc.value.clone();
        let mut found = Vec::new();
        check(&doc, &raw::schema(), &mut value, &mut found);
        let lines = found
            .iter()
            .map(|p| {
                let hint = p
                    .hint
                    .as_deref()
                    .map(|h| format!(" / {h}"))
                    .unwrap_or_default();
                format!(
                    "{}:{} {}: {}{hint}",
                    p.pos.line, p.pos.column, p.path, p.message
                )
            })
            .collect();
        (lines, value)
    }

    const GOOD: &str = "\
scm:
  provider: github
strategies:
  - name: app
    environments:
      - branch: environment/dev
";

    #[test]
    fn a_well_formed_file_has_no_structural_problem() {
        let (found, value) = problems(GOOD);
        assert_eq!(found, Vec::<String>::new());
        let raw: raw::RawConfig = serde_json::from_value(value).unwrap();
        assert_eq!(raw.strategies[0].environments[0].branch, "environment/dev");
    }

    #[test]
    fn unknown_keys_get_a_did_you_mean_hint_and_are_removed() {
        let text = format!("{GOOD}        automerge: false\n");
        let (found, value) = problems(&text);
        assert_eq!(
            found,
            [
                "7:9 strategies[0].environments[0].automerge: unknown key `automerge` / did you mean `autoMerge`?"
            ]
        );
        serde_json::from_value::<raw::RawConfig>(value).unwrap();
    }

    #[test]
    fn wrong_types_and_missing_keys_are_all_reported_and_repaired() {
        let text = "\
scm:
  provider: gitlap
strategies:
  - environments:
      - branch: 12
        autoMerge: \"false\"
";
        let (found, value) = problems(text);
        assert_eq!(
            found,
            [
                "2:13 scm.provider: the string `gitlap` is not one of `github`, `gitlab`, `gitea`, `forgejo`, `bitbucket`, `azure-devops`, `bitbucket-server` / did you mean `gitlab`?",
                "6:20 strategies[0].environments[0].autoMerge: expected true or false, found the string `false` / write false without quotes",
                "5:17 strategies[0].environments[0].branch: expected a string, found the number 12 / quote it: \"12\"",
                "4:5 strategies[0].name: missing required key `name` in `strategies[0]` / add `name:` here",
            ]
        );
        serde_json::from_value::<raw::RawConfig>(value).unwrap();
    }

    #[test]
    fn soak_time_under_proposed_gates_says_where_it_belongs() {
        let text = format!(
            "{GOOD}        proposedCommitStatuses:\n          - key: scan\n            soakTime: 1h\n"
        );
        let (found, _) = problems(&text);
        assert_eq!(
            found,
            [
                "9:13 strategies[0].environments[0].proposedCommitStatuses[0].soakTime: `soakTime` is only allowed under `activeCommitStatuses` / a soak timer runs on the live tip: move this gate to `activeCommitStatuses`"
            ]
        );
    }

    #[test]
    fn an_empty_file_misses_the_required_top_level_keys() {
        let (found, value) = problems("");
        assert_eq!(
            found,
            [
                "1:1 : expected a mapping, found nothing / the file is a mapping with `scm:` and `strategies:`; see examples/promotion.yaml"
            ]
        );
        serde_json::from_value::<raw::RawConfig>(value).unwrap();
    }
}
