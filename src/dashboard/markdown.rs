//! Untrusted text made inert in the dashboard's Markdown (GitHub, GitLab and Gitea flavours).
//!
//! Commit subjects, reasons that quote SCM or CI text, branch names and strategy names go into
//! the body only as **code spans** ([`code`]): inside one, CommonMark recognises no emphasis,
//! link, image, autolink or raw HTML, and the forges expand no @mention and no `#12`/`!12`
//! reference. What could still end a span or a table cell is handled here: the span is fenced
//! with one backtick more than the longest run inside it (CommonMark §6.1), `|` is written `\|`
//! (GFM tables split cells before inline parsing, code spans included, and unescape `\|`),
//! line breaks and other control characters become spaces (a newline would end the table row).
//! Only promoter's own links are links ([`link`]).

/// `text` as one code span on one line, at most `max_chars` characters (cut with `…`), safe in a
/// table cell. Empty text is an empty string (no span).
pub(super) fn code(text: &str, max_chars: usize) -> String {
    span(text, max_chars, true)
}

/// [`code`] outside a table (a heading): `|` needs no escape there, and would show one.
pub(super) fn code_outside_table(text: &str, max_chars: usize) -> String {
    span(text, max_chars, false)
}

fn span(text: &str, max_chars: usize, in_cell: bool) -> String {
    let mut flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    flat = flat.trim().to_owned();
    if flat.chars().count() > max_chars {
        flat = flat.chars().take(max_chars.saturating_sub(1)).collect();
        flat = flat.trim_end().to_owned();
        flat.push('…');
    }
    if flat.is_empty() {
        return String::new();
    }
    let longest_run = flat.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    // CommonMark strips one space on each side when both are there; add them when the text
    // starts or ends with a backtick (it would join the fence) — and then always both.
    let pad = if flat.starts_with('`') || flat.ends_with('`') {
        " "
    } else {
        ""
    };
    if in_cell {
        flat = flat.replace('|', "\\|");
    }
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// A Markdown link to `url` with `label`, when `url` is a plain `http(s)` URL that cannot break
/// out of the link destination; else the label alone. `label` must already be safe Markdown.
pub(super) fn link(label: &str, url: &str) -> String {
    let plain = (url.starts_with("https://") || url.starts_with("http://"))
        && url.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '(' | ')' | '<' | '>' | '|' | '\\' | '`' | '"')
        });
    if plain {
        format!("[{label}]({url})")
    } else {
        label.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_outfence_backticks_and_escape_cell_pipes() {
        assert_eq!(code("plain", 80), "`plain`");
        assert_eq!(code("a `b` c", 80), "``a `b` c``");
        assert_eq!(code("``x", 80), "``` ``x ```");
        assert_eq!(code("a | b", 80), "`a \\| b`");
        assert_eq!(code("one\ntwo\r\tthree", 80), "`one two  three`");
        assert_eq!(code("  ", 80), "");
        assert_eq!(code("abcdefghij", 5), "`abcd…`");
        assert_eq!(code_outside_table("a | b", 80), "`a | b`");
    }

    #[test]
    fn only_plain_http_urls_become_links() {
        assert_eq!(
            link("#3", "https://x.test/a/pull/3"),
            "[#3](https://x.test/a/pull/3)"
        );
        assert_eq!(link("#3", "javascript:alert(1)"), "#3");
        assert_eq!(link("#3", "https://x.test/a) ![i](https://evil"), "#3");
        assert_eq!(link("#3", "https://x.test/<img>"), "#3");
    }
}
