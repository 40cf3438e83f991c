//! The YAML text of promotion.yaml as a JSON value plus a position index: for every key path
//! (`strategies[0].environments[2].branch`) the line and column of its key and of its value.
//!
//! Owns: YAML parsing (yaml-rust2 marked events, pulled one at a time), scalar typing,
//! duplicate-key detection, and the limits that keep a hostile file from exhausting the machine:
//! nesting depth ([`MAX_DEPTH`]) and what aliases may expand to ([`MAX_NODES`], [`MAX_TEXT`]),
//! checked while the events arrive, before anything is built past them. Does not own: what the
//! keys mean — `validate.rs` walks the value.
//!
//! Why pull events rather than `Parser::load`: `load` recurses once per nesting level, so a
//! 10,000-level block mapping overflowed the stack (an abort, not an error). Pulling the events in
//! a loop keeps the stack flat and lets the depth limit stop reading at level 65. Every later pass
//! over the value (the structural walk, serde, drop) recurses too, which the depth limit bounds.

use std::collections::BTreeMap;

use serde_json::Value;
use yaml_rust2::Yaml;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The deepest nesting of mappings and lists accepted; promotion.yaml needs 7 levels (down to a
/// gate of an environment).
pub(super) const MAX_DEPTH: usize = 64;
/// The most values (mappings, lists, scalars) the document may hold once aliases are expanded
/// (the copy each anchor keeps counts too). A real file has a few thousand; an alias "billion
/// laughs" has billions.
pub(super) const MAX_NODES: usize = 100_000;
/// The most text (keys, scalars and key paths) the document may hold once aliases are expanded.
pub(super) const MAX_TEXT: usize = 16 * 1024 * 1024;

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
pub(super) struct YamlProblem {
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
pub(super) struct Document {
    pub value: Value,
    spots: BTreeMap<String, Spot>,
    pub problems: Vec<YamlProblem>,
}

/// `parent.key`, or `key` at the root.
pub(super) fn child_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `parent[index]`.
pub(super) fn item_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

impl Document {
    /// Parses `text`. A syntax error is fatal and returned alone, with its position.
    pub(super) fn parse(text: &str) -> Result<Document, YamlProblem> {
        let mut builder = Builder::default();
        let mut parser = Parser::new_from_str(text);
        loop {
            let (event, marker) = parser.next_token().map_err(|error| YamlProblem {
                pos: Pos::from_marker(*error.marker()),
                path: String::new(),
                // The scanner reads ahead and meets its own limit (255 open `[`/`{`) first.
                message: match error.info() {
                    "recursion limit exceeded" => too_deep(),
                    info => format!("invalid YAML: {info}"),
                },
            })?;
            let end = event == Event::StreamEnd;
            builder.on_event(event, marker);
            if let Some(fatal) = builder.fatal.take() {
                return Err(fatal);
            }
            if end {
                break;
            }
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
    pub(super) fn value_pos(&self, path: &str) -> Pos {
        self.nearest(path).value
    }

    /// Where the key of `path` is written (the value's position for list items and the root).
    pub(super) fn key_pos(&self, path: &str) -> Pos {
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

/// What a finished value holds: how many values, how much text, how many levels of nesting (a
/// scalar is 0). Kept for anchors, so an alias is charged for its whole copy before it is made.
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    text: usize,
    depth: usize,
}

impl Size {
    fn scalar(text: usize) -> Self {
        Size {
            nodes: 1,
            text,
            depth: 0,
        }
    }

    fn add_child(&mut self, child: Size) {
        self.nodes += child.nodes;
        self.text += child.text;
        self.depth = self.depth.max(child.depth + 1);
    }
}

struct Frame {
    path: String,
    anchor: usize,
    /// Grows as children are placed.
    size: Size,
    kind: FrameKind,
}

enum FrameKind {
    Map {
        map: serde_json::Map<String, Value>,
        /// The key just read, waiting for its value: (child path, key).
        pending: Option<(String, String)>,
    },
    Seq {
        items: Vec<Value>,
    },
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    root: Option<Value>,
    documents: usize,
    anchors: BTreeMap<usize, (Value, Size)>,
    spots: BTreeMap<String, Spot>,
    problems: Vec<YamlProblem>,
    fatal: Option<YamlProblem>,
    /// Values and text built so far, aliases expanded; bounded by [`MAX_NODES`] and [`MAX_TEXT`].
    nodes: usize,
    text: usize,
    aliases: bool,
}

enum Slot {
    /// The next node is a mapping key.
    Key,
    /// The next node is a value at this path.
    Value(String),
}

impl Builder {
    fn slot(&self) -> Slot {
        let Some(frame) = self.stack.last() else {
            return Slot::Value(String::new());
        };
        match &frame.kind {
            FrameKind::Map { pending: None, .. } => Slot::Key,
            FrameKind::Map {
                pending: Some((path, _)),
                ..
            } => Slot::Value(path.clone()),
            FrameKind::Seq { items } => Slot::Value(item_path(&frame.path, items.len())),
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

    /// Counts `nodes` values and `text` bytes about to be built at `pos`; false (and a fatal
    /// problem) once the document would exceed [`MAX_NODES`] or [`MAX_TEXT`].
    fn charge(&mut self, nodes: usize, text: usize, pos: Pos) -> bool {
        self.nodes = self.nodes.saturating_add(nodes);
        self.text = self.text.saturating_add(text);
        if self.nodes <= MAX_NODES && self.text <= MAX_TEXT {
            return true;
        }
        let what = if self.nodes > MAX_NODES {
            format!("more than {MAX_NODES} values")
        } else {
            format!("more than {} MiB of text", MAX_TEXT / (1024 * 1024))
        };
        let message = if self.aliases {
            format!(
                "the document grows to {what} once its aliases are expanded: every `*alias` copies its anchor, so nested aliases multiply (an alias bomb); write the values out or use fewer aliases"
            )
        } else {
            format!(
                "the document holds {what}; promotion.yaml holds settings only, is this the right file?"
            )
        };
        self.fail(pos, message);
        false
    }

    fn record_value_pos(&mut self, path: String, pos: Pos) {
        // Key paths are text too: a long key above many values is repeated in every path below it.
        if !self.charge(0, path.len(), pos) {
            return;
        }
        self.spots
            .entry(path)
            .and_modify(|spot| spot.value = pos)
            .or_insert(Spot {
                key: None,
                value: pos,
            });
    }

    /// Puts a finished node where it belongs: the parent mapping, the parent list, or the root.
    fn place(&mut self, value: Value, size: Size, anchor: usize, pos: Pos) {
        if anchor != 0 {
            // The anchor keeps a copy: charged like one, or 60 nested anchors around a large
            // value would hold 60 copies of it outside the budget.
            if !self.charge(size.nodes, size.text, pos) {
                return;
            }
            self.anchors.insert(anchor, (value.clone(), size));
        }
        let Some(frame) = self.stack.last_mut() else {
            self.root = Some(value);
            return;
        };
        frame.size.add_child(size);
        match &mut frame.kind {
            FrameKind::Seq { items } => items.push(value),
            FrameKind::Map { map, pending } => {
                if let Some((_, key)) = pending.take() {
                    frame.size.text += key.len();
                    // A duplicate key was reported when it was read; the first value stays.
                    map.entry(key).or_insert(value);
                }
            }
        }
    }

    fn on_key(&mut self, key: String, pos: Pos) {
        let Some(Frame {
            path,
            kind: FrameKind::Map { map, pending },
            ..
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
        let duplicate = map.contains_key(&key);
        *pending = Some((child.clone(), key.clone()));
        if !self.charge(0, key.len() + child.len(), pos) {
            return;
        }
        if duplicate {
            let first = self.spots.get(&child).and_then(|spot| spot.key);
            let first = first.map_or(String::new(), |p| format!(" (first at line {})", p.line));
            self.problems.push(YamlProblem {
                pos,
                path: child,
                message: format!("duplicate key `{key}`{first}; the first value is used"),
            });
        } else {
            self.spots.insert(
                child,
                Spot {
                    key: Some(pos),
                    value: pos,
                },
            );
        }
    }

    fn on_alias(&mut self, anchor: usize, path: String, pos: Pos) {
        self.aliases = true;
        let Some(size) = self.anchors.get(&anchor).map(|(_, size)| *size) else {
            // yaml-rust2 refuses an unknown alias before it reaches here.
            return self.fail(pos, "an alias names no anchor".into());
        };
        if self.stack.len() + size.depth > MAX_DEPTH {
            return self.fail(pos, too_deep());
        }
        // Charged before the copy is made: the copy is what a bomb would blow up.
        if !self.charge(size.nodes, size.text, pos) {
            return;
        }
        let value = self.anchors[&anchor].0.clone();
        self.record_value_pos(path, pos);
        self.place(value, size, 0, pos);
    }

    fn on_start(&mut self, event: &Event, pos: Pos) {
        let path = match self.slot() {
            Slot::Key => {
                return self.fail(
                    pos,
                    "keys must be plain strings, not lists or mappings".into(),
                );
            }
            Slot::Value(path) => path,
        };
        if self.stack.len() >= MAX_DEPTH {
            return self.fail(pos, too_deep());
        }
        if !self.charge(1, 0, pos) {
            return;
        }
        self.record_value_pos(path.clone(), pos);
        let (anchor, kind) = match event {
            Event::MappingStart(anchor, _) => (
                *anchor,
                FrameKind::Map {
                    map: serde_json::Map::new(),
                    pending: None,
                },
            ),
            Event::SequenceStart(anchor, _) => (*anchor, FrameKind::Seq { items: Vec::new() }),
            _ => return,
        };
        self.stack.push(Frame {
            path,
            anchor,
            size: Size {
                nodes: 1,
                text: 0,
                depth: 1,
            },
            kind,
        });
    }
}

fn too_deep() -> String {
    format!(
        "mappings and lists are nested more than {MAX_DEPTH} levels deep; a real promotion.yaml needs 7 (check the indentation)"
    )
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
                    let size = Size::scalar(text.len());
                    if self.charge(size.nodes, size.text, pos) {
                        self.record_value_pos(path, pos);
                        let value = scalar_value(text, style, tag.as_ref());
                        self.place(value, size, anchor, pos);
                    }
                }
            },
            Event::Alias(anchor) => match self.slot() {
                Slot::Key => self.fail(pos, "an alias cannot be used as a key".into()),
                Slot::Value(path) => self.on_alias(anchor, path, pos),
            },
            Event::MappingStart(..) | Event::SequenceStart(..) => self.on_start(&event, pos),
            Event::MappingEnd | Event::SequenceEnd => {
                if let Some(frame) = self.stack.pop() {
                    let value = match frame.kind {
                        FrameKind::Map { map, .. } => Value::Object(map),
                        FrameKind::Seq { items } => Value::Array(items),
                    };
                    self.place(value, frame.size, frame.anchor, pos);
                }
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
#[path = "document_tests.rs"]
mod tests;
