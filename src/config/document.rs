//! The YAML text of promotion.yaml as a JSON value plus a position index: for every key path
//! (`strategies[0].environments[2].branch`) the line and column of its key and of its value.
//!
//! Owns: YAML parsing (yaml-rust2 marked events), scalar typing, duplicate-key detection. Does not
//! own: what the keys mean — `validate.rs` walks the value.

use std::collections::BTreeMap;

use serde_json::Value;
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// A place in the file, both 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl Pos {
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn from_marker(marker: Marker) -> Self {
        // yaml-rust2 counts lines from 1 and columns from 0.
        Pos {
            line: marker.line().max(1),
            column: marker.col() + 1,
        }
    }
}

/// A problem found while reading the YAML itself (syntax, duplicate keys).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlProblem {
    pub pos: Pos,
    /// Key path the problem is about; empty for the whole file.
    pub path: String,
    pub message: String,
}

#[derive(Debug, Clone, Copy)]
struct Spot {
    key: Option<Pos>,
    value: Pos,
}

/// Parsed promotion.yaml: the value, where each path sits, and non-fatal problems (duplicate keys).
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    spots: BTreeMap<String, Spot>,
    pub problems: Vec<YamlProblem>,
}

/// `parent.key`, or `key` at the root.
pub fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub fn item_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl Document {
    /// Parses `text`. A syntax error is fatal and returned alone, with its position.
    pub fn parse(text: &str) -> Result<Document, YamlProblem> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        if let Err(error) = parser.load(&mut builder, true) {
            return Err(YamlProblem {
                pos: Pos::from_marker(*error.marker()),
                path: String::new(),
                message: format!("invalid YAML: {}", error.info()),
            });
        }
        if let Some(fatal) = builder.fatal {
            return Err(fatal);
        }
        let mut spots = builder.spots;
        spots.entry(String::new()).or_insert(Spot {
            key: None,
            value: Pos::START,
        });
        Ok(Document {
            value: builder.root.unwrap_or(Value::Null),
            spots,
            problems: builder.problems,
        })
    }

    /// Where the value at `path` starts; for a path not in the file (a missing key, or inside an
    /// alias), the nearest ancestor's value.
    pub fn value_pos(&self, path: &str) -> Pos {
        self.nearest(path).value
    }

    /// Where the key of `path` is written (the value's position for list items and the root).
    pub fn key_pos(&self, path: &str) -> Pos {
        let spot = self.nearest(path);
        spot.key.unwrap_or(spot.value)
    }

    fn nearest(&self, path: &str) -> Spot {
        let mut current = path;
        loop {
            if let Some(spot) = self.spots.get(current) {
                return *spot;
            }
            match current.rfind(['.', '[']) {
                Some(cut) => current = &current[..cut],
                None => current = "",
            }
            if current.is_empty() {
                return self.spots.get("").copied().unwrap_or(Spot {
                    key: None,
                    value: Pos::START,
                });
            }
        }
    }
}

enum Frame {
    Map {
        path: String,
        map: serde_json::Map<String, Value>,
        /// The key just read, waiting for its value: (child path, key).
        pending: Option<(String, String)>,
        anchor: usize,
    },
    Seq {
        path: String,
        items: Vec<Value>,
        anchor: usize,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    anchors: BTreeMap<usize, Value>,
    spots: BTreeMap<String, Spot>,
    problems: Vec<YamlProblem>,
    fatal: Option<YamlProblem>,
}

enum Slot {
    /// The next node is a mapping key.
    Key,
    /// The next node is a value at this path.
    Value(String),
}

impl Builder {
    fn slot(&self) -> Slot {
        match self.stack.last() {
            None => Slot::Value(String::new()),
            Some(Frame::Map { pending: None, .. }) => Slot::Key,
            Some(Frame::Map {
                pending: Some((path, _)),
                ..
            }) => Slot::Value(path.clone()),
            Some(Frame::Seq { path, items, .. }) => Slot::Value(item_path(path, items.len())),
        }
    }

    fn fail(&mut self, pos: Pos, message: String) {
        if self.fatal.is_none() {
            self.fatal = Some(YamlProblem {
                pos,
                path: String::new(),
                message,
            });
        }
    }

    fn record_value_pos(&mut self, path: String, pos: Pos) {
        self.spots
            .entry(path)
            .and_modify(|spot| spot.value = pos)
            .or_insert(Spot {
                key: None,
                value: pos,
            });
    }

    /// Puts a finished node where it belongs: the parent mapping, the parent list, or the root.
    fn place(&mut self, value: Value, anchor: usize) {
        if anchor != 0 {
            self.anchors.insert(anchor, value.clone());
        }
        match self.stack.last_mut() {
            None => self.root = Some(value),
            Some(Frame::Seq { items, .. }) => items.push(value),
            Some(Frame::Map { map, pending, .. }) => {
                if let Some((_, key)) = pending.take() {
                    // A duplicate key was reported when it was read; the first value stays.
                    map.entry(key).or_insert(value);
                }
            }
        }
    }

    fn on_key(&mut self, key: String, pos: Pos) {
        let Some(Frame::Map {
            path, map, pending, ..
        }) = self.stack.last_mut()
        else {
            return;
        };
        let child = child_path(path, &key);
        if map.is_empty() {
            // yaml-rust2 marks a block mapping at its first `:`; point at its first key instead.
            if let Some(spot) = self.spots.get_mut(path.as_str()) {
                spot.value = spot.value.min(pos);
            }
        }
        if map.contains_key(&key) {
            let first = self.spots.get(&child).and_then(|spot| spot.key);
            let first = first.map_or(String::new(), |p| format!(" (first at line {})", p.line));
            self.problems.push(YamlProblem {
                pos,
                path: child.clone(),
                message: format!("duplicate key `{key}`{first}; the first value is used"),
            });
        } else {
            self.spots.insert(
                child.clone(),
                Spot {
                    key: Some(pos),
                    value: pos,
                },
            );
        }
        *pending = Some((child, key));
    }
}

fn scalar_value(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    let explicit_string = tag.is_some_and(|tag| tag.suffix == "str");
    if style != TScalarStyle::Plain || explicit_string {
        return Value::String(text);
    }
    match Yaml::from_str(&text) {
        Yaml::Null => Value::Null,
        Yaml::Boolean(b) => Value::Bool(b),
        Yaml::Integer(i) => Value::from(i),
        Yaml::Real(real) => real
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or(Value::String(text), Value::Number),
        _ => Value::String(text),
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, marker: Marker) {
        if self.fatal.is_some() {
            return;
        }
        let pos = Pos::from_marker(marker);
        match event {
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    self.fail(
                        pos,
                        "promotion.yaml must hold one YAML document; found a second one".into(),
                    );
                }
            }
            Event::Scalar(text, style, anchor, tag) => match self.slot() {
                Slot::Key => self.on_key(text, pos),
                Slot::Value(path) => {
                    self.record_value_pos(path, pos);
                    let value = scalar_value(text, style, tag.as_ref());
                    self.place(value, anchor);
                }
            },
            Event::Alias(anchor) => match self.slot() {
                Slot::Key => self.fail(pos, "an alias cannot be used as a key".into()),
                Slot::Value(path) => {
                    self.record_value_pos(path, pos);
                    let value = self.anchors.get(&anchor).cloned().unwrap_or(Value::Null);
                    self.place(value, 0);
                }
            },
            Event::MappingStart(anchor, _) | Event::SequenceStart(anchor, _) => {
                let path = match self.slot() {
                    Slot::Key => {
                        return self.fail(
                            pos,
                            "keys must be plain strings, not lists or mappings".into(),
                        );
                    }
                    Slot::Value(path) => path,
                };
                self.record_value_pos(path.clone(), pos);
                let frame = if matches!(event, Event::MappingStart(..)) {
                    Frame::Map {
                        path,
                        map: serde_json::Map::new(),
                        pending: None,
                        anchor,
                    }
                } else {
                    Frame::Seq {
                        path,
                        items: Vec::new(),
                        anchor,
                    }
                };
                self.stack.push(frame);
            }
            Event::MappingEnd | Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Map { map, anchor, .. }) => self.place(Value::Object(map), anchor),
                Some(Frame::Seq { items, anchor, .. }) => self.place(Value::Array(items), anchor),
                None => {}
            },
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
scm:
  provider: github
strategies:
  - name: app
    environments:
      - branch: environment/dev
        autoMerge: false
      - branch: \"environment/prod\"
";

    #[test]
    fn records_key_and_value_positions_per_path() {
        let doc = Document::parse(TEXT).unwrap();
        assert_eq!(
            doc.value["strategies"][0]["environments"][0]["autoMerge"],
            false
        );
        assert_eq!(
            doc.key_pos("strategies[0].environments[0].autoMerge"),
            Pos { line: 7, column: 9 }
        );
        assert_eq!(
            doc.value_pos("strategies[0].environments[0].autoMerge"),
            Pos {
                line: 7,
                column: 20
            }
        );
        assert_eq!(
            doc.value_pos("strategies[0].environments[1]"),
            Pos { line: 8, column: 9 }
        );
        assert_eq!(doc.key_pos("scm.provider"), Pos { line: 2, column: 3 });
    }

    #[test]
    fn missing_paths_fall_back_to_the_nearest_ancestor() {
        let doc = Document::parse(TEXT).unwrap();
        assert_eq!(
            doc.value_pos("strategies[0].environments[1].stagingBranch"),
            Pos { line: 8, column: 9 }
        );
        assert_eq!(doc.value_pos("repository.owner"), Pos::START);
    }

    #[test]
    fn types_plain_scalars_and_keeps_quoted_ones_as_strings() {
        let doc = Document::parse("a: 12\nb: '12'\nc: true\nd: ~\ne: 1.5\nf: text\n").unwrap();
        assert_eq!(
            doc.value,
            serde_json::json!({"a": 12, "b": "12", "c": true, "d": null, "e": 1.5, "f": "text"})
        );
    }

    #[test]
    fn reports_duplicate_keys_and_keeps_the_first() {
        let doc = Document::parse("a: 1\nb: 2\na: 3\n").unwrap();
        assert_eq!(doc.value["a"], 1);
        assert_eq!(doc.problems.len(), 1);
        assert_eq!(doc.problems[0].pos, Pos { line: 3, column: 1 });
        assert_eq!(
            doc.problems[0].message,
            "duplicate key `a` (first at line 1); the first value is used"
        );
    }

    #[test]
    fn syntax_errors_carry_line_and_column() {
        let error = Document::parse("a:\n  b: [1, 2\nc: 3\n").unwrap_err();
        assert!(
            error.message.starts_with("invalid YAML"),
            "{}",
            error.message
        );
        assert!(error.pos.line >= 2, "{:?}", error.pos);
    }

    #[test]
    fn aliases_copy_the_anchored_value() {
        let doc = Document::parse("a: &gates [x, y]\nb: *gates\n").unwrap();
        assert_eq!(doc.value["b"], serde_json::json!(["x", "y"]));
    }

    #[test]
    fn a_second_document_is_refused() {
        let error = Document::parse("a: 1\n---\nb: 2\n").unwrap_err();
        assert_eq!(error.pos.line, 2);
    }
}
