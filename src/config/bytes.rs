//! The bytes of promotion.yaml before any YAML parser sees them: size, UTF-8 and the characters
//! YAML allows.
//!
//! Why here and not in the parser: a NUL byte inside a comment made the parser stop reading without
//! an error, so every key after it vanished silently (prod's `autoMerge: false` among them). Every
//! byte is checked first; a file that fails is refused as a whole, like a syntax error.
//!
//! Allowed: tab, line feed, carriage return and every printable character of YAML 1.2 (§5.1
//! `c-printable`), minus the C1 controls (U+0080–U+009F, including NEL, which YAML readers disagree
//! about as a line break), and a byte order mark (U+FEFF) only as the very first character.
//! Refused: the other C0 controls (NUL among them), DEL, C1 controls, U+FFFE/U+FFFF, a BOM anywhere
//! else, invalid UTF-8, and files over [`MAX_FILE_BYTES`].
//!
//! Owns: these rules and their wording. Does not own: YAML syntax (`document.rs`).

use super::document::Pos;
use super::problem::Problem;

/// The largest promotion.yaml read: far above any real file (a hundred strategies fit in 100 KiB),
/// small enough that parsing anything this size stays well under a second and a few MiB.
pub(super) const MAX_FILE_BYTES: usize = 1024 * 1024;

/// At most this many character problems are listed; a binary file would otherwise print thousands.
const MAX_LISTED: usize = 20;

const BOM: char = '\u{feff}';

/// Checks `bytes`; returns the text without a leading byte order mark, or one problem per refused
/// character (at most [`MAX_LISTED`]), each with its line and column (columns count characters).
pub(super) fn check(bytes: &[u8]) -> Result<&str, Vec<Problem>> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(vec![
            Problem::new(
                Pos::START,
                "",
                format!(
                    "the file is larger than 1 MiB ({MAX_FILE_BYTES} bytes), the most promoter reads"
                ),
            )
            .with_hint("promotion.yaml holds settings only; is this the right file?"),
        ]);
    }
    let mut cursor = Cursor {
        pos: Pos::START,
        after_cr: false,
    };
    let mut problems = Vec::new();
    let mut offset = 0;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if let Some(problem) = refused(c, offset, cursor.pos) {
                problems.push(problem);
            }
            offset += c.len_utf8();
            cursor.advance(c);
        }
        if let Some(&first) = chunk.invalid().first() {
            problems.push(invalid_utf8(bytes, offset, first, cursor.pos));
            offset += chunk.invalid().len();
            // An invalid sequence shows as one replacement character in an editor.
            cursor.advance('\u{fffd}');
        }
        if problems.len() >= MAX_LISTED {
            problems.truncate(MAX_LISTED);
            let last = problems.last_mut().expect("MAX_LISTED > 0");
            last.message
                .push_str(" (and possibly more: only the first 20 are listed)");
            break;
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let text = std::str::from_utf8(bytes).expect("every byte was checked");
    Ok(text.strip_prefix(BOM).unwrap_or(text))
}

/// Line and column as YAML parsers count them: LF, CR LF and a lone CR end a line.
struct Cursor {
    pos: Pos,
    after_cr: bool,
}

impl Cursor {
    fn advance(&mut self, c: char) {
        match c {
            '\n' if self.after_cr => {}
            '\n' | '\r' => {
                self.pos.line += 1;
                self.pos.column = 1;
            }
            // A leading BOM is invisible in editors and takes no column.
            BOM if self.pos == Pos::START => {}
            _ => self.pos.column += 1,
        }
        self.after_cr = c == '\r';
    }
}

fn refused(c: char, offset: usize, pos: Pos) -> Option<Problem> {
    let code = u32::from(c);
    let (message, hint) = match c {
        '\t' | '\n' | '\r' => return None,
        '\0' => (
            "a NUL byte (U+0000)".to_owned(),
            "remove it: YAML text cannot hold NUL, and some readers silently stop reading at one; a file full of them is UTF-16 or binary, save it as UTF-8",
        ),
        BOM if offset == 0 => return None,
        BOM => (
            "a byte order mark (U+FEFF) after the start of the file".to_owned(),
            "remove it: a BOM is allowed only as the very first character (it is often left by joining files)",
        ),
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => (
            format!("the control character U+{code:04X}"),
            "remove it; inside a double-quoted string a control character can be written as an escape such as \"\\t\"",
        ),
        '\u{fffe}' | '\u{ffff}' => (
            format!("the non-character U+{code:04X}"),
            "remove it; it is not text",
        ),
        _ => return None,
    };
    Some(
        Problem::new(
            pos,
            "",
            format!("{message} (byte offset {offset}): YAML does not allow it"),
        )
        .with_hint(hint),
    )
}

fn invalid_utf8(bytes: &[u8], offset: usize, first: u8, pos: Pos) -> Problem {
    let utf16 = bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]);
    let hint = if utf16 {
        "the file starts with a UTF-16 byte order mark: save it as UTF-8"
    } else {
        "save the file as UTF-8 (it may be in Latin-1 or another legacy encoding)"
    };
    Problem::new(
        pos,
        "",
        format!("invalid UTF-8: byte 0x{first:02X} at byte offset {offset}"),
    )
    .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(bytes: &[u8]) -> Vec<String> {
        match check(bytes) {
            Ok(_) => Vec::new(),
            Err(problems) => problems
                .iter()
                .map(|p| format!("{}:{} {}", p.pos.line, p.pos.column, p.message))
                .collect(),
        }
    }

    #[test]
    fn a_nul_byte_in_a_comment_is_refused_at_its_line_and_column() {
        assert_eq!(
            found(b"a: 1\nb: 2 # note\0rest\nc: 3\n"),
            ["2:12 a NUL byte (U+0000) (byte offset 16): YAML does not allow it"]
        );
    }

    #[test]
    fn tab_line_breaks_and_printable_unicode_are_allowed() {
        let text = "a:\t1\r\nb: \"é ✓ 𝄞\"\rc: \u{a0}x\n";
        assert_eq!(check(text.as_bytes()), Ok(text));
    }

    #[test]
    fn control_characters_del_and_c1_are_refused() {
        assert_eq!(
            found("a: \u{7}\nb: \u{7f}\nc: \u{85}\nd: \u{1b}[31m\n".as_bytes()),
            [
                "1:4 the control character U+0007 (byte offset 3): YAML does not allow it",
                "2:4 the control character U+007F (byte offset 8): YAML does not allow it",
                "3:4 the control character U+0085 (byte offset 13): YAML does not allow it",
                "4:4 the control character U+001B (byte offset 19): YAML does not allow it",
            ]
        );
    }

    #[test]
    fn invalid_utf8_is_located_by_line_and_character_column() {
        assert_eq!(
            found(b"a: 1\nname: \xc3\xa9t\xffe\n"),
            ["2:9 invalid UTF-8: byte 0xFF at byte offset 14"]
        );
        let utf16 = found(b"\xff\xfea\x00:\x00");
        assert_eq!(utf16[0], "1:1 invalid UTF-8: byte 0xFF at byte offset 0");
    }

    #[test]
    fn a_bom_is_dropped_at_the_start_and_refused_elsewhere() {
        assert_eq!(check("\u{feff}a: 1\n".as_bytes()), Ok("a: 1\n"));
        assert_eq!(
            found("a: 1\nb: x\u{feff}y\n".as_bytes()),
            [
                "2:5 a byte order mark (U+FEFF) after the start of the file (byte offset 9): YAML does not allow it"
            ]
        );
    }

    #[test]
    fn lines_end_at_lf_crlf_and_a_lone_cr() {
        assert_eq!(
            found(b"a\r\nb\rc\n\x01"),
            ["4:1 the control character U+0001 (byte offset 7): YAML does not allow it"]
        );
    }

    #[test]
    fn a_binary_file_lists_twenty_problems_and_says_so() {
        let problems = check(&[0u8; 100]).unwrap_err();
        assert_eq!(problems.len(), MAX_LISTED);
        assert!(
            problems[19]
                .message
                .ends_with("only the first 20 are listed)")
        );
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_before_reading_its_characters() {
        let big = vec![b'#'; MAX_FILE_BYTES + 1];
        assert_eq!(
            found(&big),
            ["1:1 the file is larger than 1 MiB (1048576 bytes), the most promoter reads"]
        );
    }
}
