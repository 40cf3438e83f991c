//! The YAML reader: positions, scalar typing, duplicates, and the depth and alias limits.

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

/// The billion-laughs file of issue 11: nine levels of nine aliases (473 bytes, 9^9 strings).
fn laughs() -> String {
    let mut text = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let copies = vec![format!("*{previous}"); 9].join(", ");
        text.push_str(&format!("{name}: &{name} [{copies}]\n"));
    }
    text
}

#[test]
fn an_alias_bomb_is_refused_where_it_crosses_the_limit() {
    let error = Document::parse(&laughs()).unwrap_err();
    assert_eq!(
        error.pos,
        Pos {
            line: 5,
            column: 42
        }
    );
    assert!(
        error.message.starts_with(
            "the document grows to more than 100000 values once its aliases are expanded"
        ),
        "{}",
        error.message
    );
}

#[test]
fn aliases_within_the_limits_still_expand() {
    let text = laughs().lines().take(4).collect::<Vec<_>>().join("\n");
    let doc = Document::parse(&text).unwrap();
    assert_eq!(doc.value["d"][8][8][8][8], "lol");
}

#[test]
fn nesting_deeper_than_the_limit_is_refused_in_block_and_flow_style() {
    let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    let error = Document::parse(&format!("{block}{}v: 1\n", " ".repeat(200))).unwrap_err();
    assert_eq!(
        error.pos,
        Pos {
            line: 65,
            column: 66
        }
    );
    assert!(
        error
            .message
            .starts_with("mappings and lists are nested more than 64 levels")
    );
    let sequences = format!("{}x\n", "- ".repeat(10_000));
    let error = Document::parse(&sequences).unwrap_err();
    assert_eq!(error.pos.line, 1);
    assert!(error.message.starts_with("mappings and lists are nested"));
    let flow = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
    let error = Document::parse(&flow).unwrap_err();
    assert!(error.message.starts_with("mappings and lists are nested"));
    let at_limit = format!("{}x{}\n", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    Document::parse(&at_limit).unwrap();
}

#[test]
fn an_alias_cannot_nest_deeper_than_the_limit_either() {
    let half = MAX_DEPTH / 2 + 1;
    let text = format!(
        "a: &deep {}x{}\nb: {}*deep{}\n",
        "[".repeat(half),
        "]".repeat(half),
        "[".repeat(half),
        "]".repeat(half)
    );
    let error = Document::parse(&text).unwrap_err();
    assert_eq!(error.pos.line, 2);
    assert!(error.message.starts_with("mappings and lists are nested"));
}

#[test]
fn a_long_key_repeated_in_many_paths_is_bounded() {
    // Longer than 1024 characters, a key must be written explicitly (`? key`).
    let text = format!("? {}\n: [{}]\n", "k".repeat(500_000), "1, ".repeat(50_000));
    let error = Document::parse(&text).unwrap_err();
    assert!(
        error.message.contains("more than 16 MiB of text"),
        "{}",
        error.message
    );
}

#[test]
fn the_copies_nested_anchors_keep_count_against_the_limits() {
    let mut text = format!(
        "s: &s {}\nbig: &big [{}]\n",
        "x".repeat(100_000),
        vec!["*s"; 70].join(", ")
    );
    let depth = 60;
    let opening: String = (0..depth).map(|level| format!("&n{level} [")).collect();
    text.push_str(&format!("n: {opening}*big{}\n", "]".repeat(depth)));
    let error = Document::parse(&text).unwrap_err();
    assert_eq!(error.pos.line, 3);
    assert!(
        error.message.contains("more than 16 MiB of text"),
        "{}",
        error.message
    );
}
