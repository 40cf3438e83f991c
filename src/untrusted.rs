//! How text that promoter does not control is shown (docs/design.md §6): commit subjects and
//! bodies, `hydrator.metadata` values, git notes, SCM error bodies and descriptions. Such text can
//! carry control characters, bidi overrides, CI workflow commands (`::error::…`, `##[error]`,
//! `##vso[…]`) or Markdown/HTML meant to be rendered somewhere promoter writes to.
//!
//! - [`one_line`]: a value shown inside one line — every control and invisible formatting
//!   character escaped (`\n`, `\r`, `\u{202e}`), so it can neither end the line nor reorder it.
//! - [`log_text`]: a whole text printed to stdout or stderr — the same escapes except for the line
//!   breaks promoter put there, and no line that a CI runner would read as a command: a line that
//!   starts with `::` after whitespace (GitHub Actions; the runner trims leading whitespace and
//!   splits on CR as well as LF, actions/runner `ActionCommandManager`) gets a `\` in front, and
//!   `##[` / `##vso[` (GitHub's older form and Azure Pipelines' logging commands, recognised
//!   anywhere in a line) become `#\#[` / `#\#vso[`. promoter's own workflow commands (annotations,
//!   log groups) are written apart from this and are the only `::` lines it prints.
//! - [`markdown`]: a value put into Markdown that an SCM renders (PR descriptions, the step
//!   summary) — HTML specials as entities, Markdown specials backslash-escaped, `@mentions` that
//!   would ping people broken with a zero-width space, and GitLab quick actions (`/merge` at the
//!   start of a line) escaped.
//! - [`json_text`]: a serialised JSON document — the same characters escaped as `\uXXXX`, which
//!   leaves every value as it was.
//!
//! Redacting secrets is [`crate::redact`]; callers at an output boundary do both.

use std::borrow::Cow;
use std::fmt::Write as _;

/// Characters that must not reach a log or a rendered line as they are: C0 and C1 controls and
/// DEL, and invisible characters that reorder or hide text (bidi embeddings, overrides and
/// isolates, LRM/RLM/ALM, zero-width space, line and paragraph separators, word joiner, BOM).
pub(crate) fn is_hazard(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061C}'
                | '\u{200B}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2069}'
                | '\u{FEFF}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
    }
}

/// `text` with every [hazard](is_hazard) escaped, line breaks included: safe inside one line.
pub(crate) fn one_line(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_hazard) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hazard(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `text` (several lines) made safe to print to a terminal or a CI log: hazards other than `\n`
/// and `\t` escaped, no line starting with `::`, no `##[` or `##vso[`. See the module doc.
pub(crate) fn log_text(text: &str) -> Cow<'_, str> {
    let clean = !text.chars().any(|c| is_hazard(c) && c != '\n' && c != '\t')
        && !text.contains("##[")
        && !text.contains("##vso[")
        && !text.lines().any(|line| line.trim_start().starts_with("::"));
    if clean {
        return Cow::Borrowed(text);
    }
    Cow::Owned(per_line(text, |out, body| {
        if body.starts_with("::") {
            out.push('\\');
        }
        for (at, c) in body.char_indices() {
            if is_hazard(c) && c != '\t' {
                push_escaped(out, c);
            } else {
                out.push(c);
            }
            let rest = &body[at..];
            if rest.starts_with("##[") || rest.starts_with("##vso[") {
                out.push('\\');
            }
        }
    }))
}

/// Calls `each` with every line of `text` after its leading whitespace, which is copied first
/// (hazards in it escaped: CR, NEL and the line separators are whitespace too): the start of a line
/// is where CI runners and Markdown look for commands.
fn per_line(text: &str, mut each: impl FnMut(&mut String, &str)) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let body = line.trim_start();
        for c in line[..line.len() - body.len()].chars() {
            if is_hazard(c) && c != '\t' {
                push_escaped(&mut out, c);
            } else {
                out.push(c);
            }
        }
        each(&mut out, body);
    }
    out
}

/// What leaves the process on stdout or stderr: secrets redacted ([`crate::redact`]), then
/// [`log_text`].
pub(crate) fn for_log(text: &str) -> String {
    log_text(&crate::redact::text(text)).into_owned()
}

/// A JSON document as promoter writes it anywhere (stdout, the report file, step outputs): secrets
/// redacted, then [`json_text`]. `pretty` chooses the indented form.
///
/// The serialised text is redacted (keys keep their order). Tokens have no characters JSON
/// escapes, so a mark lands inside a string; should one ever cut an escape sequence, the document
/// is redacted value by value instead ([`crate::redact::json`]; keys then come out sorted).
pub(crate) fn json_document(value: &impl serde::Serialize, pretty: bool) -> String {
    let text = serialise(value, pretty);
    let text = match crate::redact::text(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(redacted)
            if serde_json::from_str::<serde::de::IgnoredAny>(&redacted).is_ok() =>
        {
            redacted
        }
        Cow::Owned(_) => {
            let mut tree = serde_json::to_value(value).expect("promoter's documents serialise");
            crate::redact::json(&mut tree);
            serialise(&tree, pretty)
        }
    };
    json_text(&text).into_owned()
}

fn serialise(value: &(impl serde::Serialize + ?Sized), pretty: bool) -> String {
    if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    }
    .expect("promoter's documents serialise")
}

/// A URL from an SCM put in a Markdown link target `(…)`: characters that would end the target or
/// start markup, and hazards, percent-encoded.
pub(crate) fn link_target(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    for c in url.chars() {
        if is_hazard(c)
            || c.is_whitespace()
            || matches!(c, '(' | ')' | '<' | '>' | '"' | '\\' | '`')
        {
            let mut bytes = [0; 4];
            for b in c.encode_utf8(&mut bytes).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `text` as literal Markdown text: what it says is shown, nothing in it is rendered as markup,
/// HTML, a mention or a quick action. Line breaks are kept (`\r\n` becomes `\n`).
pub(crate) fn markdown(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    per_line(&text, |out, body| {
        // GitLab runs quick actions (`/merge`, `/approve`) found at the start of a line of a
        // description (docs user/project/quick_actions.md).
        if body.starts_with('/') {
            out.push('\\');
        }
        let mut previous = ' ';
        for c in body.chars() {
            match c {
                '&' => out.push_str("&amp;"),
                '<' => out.push_str("&lt;"),
                '>' => out.push_str("&gt;"),
                // A zero-width space after `@` keeps GitHub and GitLab from turning `@name`
                // into a mention that notifies someone. An `@` inside a word (an email address)
                // is no mention.
                '@' if !(previous.is_alphanumeric()
                    || matches!(previous, '.' | '_' | '-' | '+')) =>
                {
                    out.push_str("@&#8203;");
                }
                '\\' | '`' | '*' | '_' | '[' | ']' | '(' | ')' | '#' | '|' | '~' | '!' | '$' => {
                    out.push('\\');
                    out.push(c);
                }
                c if is_hazard(c) && c != '\t' => push_escaped(out, c),
                c => out.push(c),
            }
            previous = c;
        }
    })
}

/// A text promoter composed (a reason, an error) for one Markdown table cell: `` `code` `` spans are
/// kept as code (their content shown as it is, which Markdown does for code, `|` escaped for the
/// table), everything else is [`markdown`]-escaped, line breaks become spaces. Only a single
/// backtick followed by text without backticks and a single closing backtick counts as a span;
/// any other backtick is escaped, so what counts here is what counts for CommonMark.
pub(crate) fn markdown_cell(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let single = |i: usize| {
        chars[i] == '`'
            && (i == 0 || chars[i - 1] != '`')
            && chars.get(i + 1).is_none_or(|&c| c != '`')
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut plain = String::new();
    let mut i = 0;
    while i < chars.len() {
        let close = if single(i) {
            (i + 1..chars.len())
                .find(|&j| chars[j] == '`')
                .filter(|&j| single(j) && j > i + 1)
        } else {
            None
        };
        match close {
            Some(j) => {
                out.push_str(&markdown(&plain));
                plain.clear();
                // Code is shown as it is, but `status --output markdown` prints this on a CI
                // log too: no command in it ([`log_text`]).
                let code: String = chars[i + 1..j].iter().collect();
                out.push('`');
                out.push_str(&log_text(&code).replace('|', "\\|").replace('\n', " "));
                out.push('`');
                i = j + 1;
            }
            None => {
                plain.push(chars[i]);
                i += 1;
            }
        }
    }
    out.push_str(&markdown(&plain));
    out.replace('\n', " ")
}

/// A serialised JSON document with hazards and `##` written as `\uXXXX` escapes. JSON can only
/// hold these characters inside strings, where the escape means the same character, so every
/// value reads back unchanged; the document just cannot carry a raw bidi override or a `##[`
/// command to a log.
pub(crate) fn json_text(json: &str) -> Cow<'_, str> {
    if !json.chars().any(is_hazard_in_json) && !json.contains("##") {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 16);
    let mut previous = '\0';
    for c in json.chars() {
        if is_hazard_in_json(c) || (c == '#' && previous == '#') {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
            // `##` becomes `#\u0023`; a third `#` then follows an escape, not a `#`.
            previous = '\0';
        } else {
            out.push(c);
            previous = c;
        }
    }
    Cow::Owned(out)
}

/// Hazards serde_json leaves raw (it escapes only U+0000–U+001F); `\n` between values is layout.
fn is_hazard_in_json(c: char) -> bool {
    is_hazard(c) && !matches!(c, '\n' | ' ' | '\t' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_escapes_line_breaks_controls_and_bidi() {
        assert_eq!(one_line("plain"), "plain");
        assert_eq!(
            one_line("zz\n::error::x\r::warning::y"),
            "zz\\n::error::x\\r::warning::y"
        );
        assert_eq!(
            one_line("a\u{202e}b\u{85}c\u{1b}[0m"),
            "a\\u{202e}b\\u{85}c\\u{1b}[0m"
        );
    }

    #[test]
    fn no_logged_line_is_a_workflow_command() {
        let text = "ok\n   ::error::x\r::warning::y\n\u{2003}::group::z\nsee ##[error]a and ##vso[task.logissue]b";
        let shown = log_text(text);
        for line in shown.split(['\n', '\r']) {
            assert!(!line.trim_start().starts_with("::"), "{line:?}");
            assert!(!line.contains("##["), "{line:?}");
            assert!(!line.contains("##vso["), "{line:?}");
        }
        assert_eq!(
            shown,
            "ok\n   \\::error::x\\r::warning::y\n\u{2003}\\::group::z\nsee #\\#[error]a and #\\#vso[task.logissue]b"
        );
        assert!(matches!(log_text("a: b\n  c ## d"), Cow::Borrowed(_)));
        // CR, NEL and U+2028 are whitespace to `trim_start`, and still escaped.
        assert_eq!(
            log_text("a\n\r\u{85}\u{2028}::error::x"),
            "a\n\\r\\u{85}\\u{2028}\\::error::x"
        );
    }

    #[test]
    fn markdown_shows_text_instead_of_rendering_it() {
        assert_eq!(
            markdown("<img src=x onerror=alert(1)> **hi** @alice ##[error] [x](y)"),
            "&lt;img src=x onerror=alert\\(1\\)&gt; \\*\\*hi\\*\\* @&#8203;alice \\#\\#\\[error\\] \\[x\\]\\(y\\)"
        );
        assert_eq!(
            markdown("fix\r\n/merge\n  /approve"),
            "fix\n\\/merge\n  \\/approve"
        );
        assert_eq!(
            markdown("Jane <jane@example.com>"),
            "Jane &lt;jane@example.com&gt;"
        );
    }

    #[test]
    fn table_cells_keep_promoters_code_spans_and_escape_the_rest() {
        assert_eq!(
            markdown_cell("`scan`: waiting for `a|b` <b>\nhint: x"),
            "`scan`: waiting for `a\\|b` &lt;b&gt; hint: x"
        );
        // Backticks that would not pair as CommonMark pairs them are shown, not used.
        assert_eq!(markdown_cell("`<img>``"), "\\`&lt;img&gt;\\`\\`");
        assert_eq!(markdown_cell("a ` b"), "a \\` b");
        assert_eq!(markdown_cell("``"), "\\`\\`");
        assert_eq!(markdown_cell("`##[error]x`"), "`#\\#[error]x`");
    }

    #[test]
    fn json_escapes_keep_the_values() {
        let value = serde_json::json!({"a": "x\u{202e}y ##[error] ###", "b": "\u{85}"});
        let shown = json_document(&value, true);
        assert!(!shown.contains("##"), "{shown}");
        assert!(!shown.contains('\u{202e}'), "{shown}");
        let back: serde_json::Value = serde_json::from_str(&shown).unwrap();
        assert_eq!(back, value);
    }
}
