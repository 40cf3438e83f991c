//! What is wrong with a promotion.yaml: one [`Problem`] per mistake, all of them collected in
//! [`ConfigErrors`]. Owns their wording and rendering; finding them is `structure.rs` and
//! `validate.rs`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::document::Pos;
use super::visible::shown;

/// One mistake in the file, with where it is and, when known, how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pos: Pos,
    /// Key path such as `strategies[0].environments[2].branch`; empty for the whole file.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl Problem {
    pub fn new(pos: Pos, path: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            pos,
            path: path.into(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Every problem found in one file, in file order. Display prints one line per problem, with
/// what cannot be seen escaped (`\u{202E}`):
/// `promotion.yaml:12:9: strategies[0].environments[2].automerge: unknown key ...` and, on the next
/// line, `  hint: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors {
    pub file: PathBuf,
    pub problems: Vec<Problem>,
}

impl ConfigErrors {
    pub fn new(file: &Path, mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| a.pos.cmp(&b.pos).then_with(|| a.path.cmp(&b.path)));
        problems.dedup();
        ConfigErrors {
            file: file.to_owned(),
            problems,
        }
    }

    /// `promotion.yaml has 3 problems` — the one-line summary for an `error:` line.
    pub fn summary(&self) -> String {
        match self.problems.len() {
            1 => format!("{} has a problem", self.file.display()),
            n => format!("{} has {n} problems", self.file.display()),
        }
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                writeln!(f)?;
            }
            write!(
                f,
                "{}:{}:{}: ",
                self.file.display(),
                problem.pos.line,
                problem.pos.column
            )?;
            // Messages echo values from the file: a line break or a bidi override in one must
            // not start a line of its own or reorder what is shown.
            if !problem.path.is_empty() {
                write!(f, "{}: ", shown(&problem.path))?;
            }
            f.write_str(&shown(&clipped(&problem.message)))?;
            if let Some(hint) = &problem.hint {
                write!(f, "\n  hint: {}", shown(hint))?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The longest message shown, in characters: messages echo values from the file, and a 100 KB
/// value echoed by each of a thousand problems would print 100 MB.
const MAX_MESSAGE_CHARS: usize = 1_000;

fn clipped(message: &str) -> std::borrow::Cow<'_, str> {
    match message.char_indices().nth(MAX_MESSAGE_CHARS) {
        None => message.into(),
        Some((cut, _)) => {
            let rest = message[cut..].chars().count();
            format!("{}… ({rest} more characters)", &message[..cut]).into()
        }
    }
}

/// The candidate closest to `word`, if it is close enough to be what was meant.
pub(super) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lowered = word.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let distance = strsim::levenshtein(&lowered, &candidate.to_ascii_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_close_spelling_and_nothing_for_unrelated_words() {
        let keys = ["branch", "autoMerge", "stagingBranch"];
        assert_eq!(did_you_mean("automerge", keys), Some("autoMerge"));
        assert_eq!(did_you_mean("auto_merge", keys), Some("autoMerge"));
        assert_eq!(did_you_mean("brnch", keys), Some("branch"));
        assert_eq!(did_you_mean("colour", keys), None);
    }

    #[test]
    fn a_value_echoed_in_a_message_cannot_break_the_line_or_reorder_it() {
        let errors = ConfigErrors::new(
            Path::new("promotion.yaml"),
            vec![Problem::new(
                Pos::START,
                "scm.a\nb",
                "unknown key `a\nb\u{202E}`",
            )],
        );
        assert_eq!(
            errors.to_string(),
            "promotion.yaml:1:1: scm.a\\u{000A}b: unknown key `a\\u{000A}b\\u{202E}`"
        );
    }

    #[test]
    fn a_long_message_is_clipped() {
        let errors = ConfigErrors::new(
            Path::new("promotion.yaml"),
            vec![Problem::new(Pos::START, "", "x".repeat(1_500))],
        );
        let shown = errors.to_string();
        assert!(shown.ends_with("x… (500 more characters)"), "{shown}");
        assert_eq!(shown.chars().filter(|c| *c == 'x').count(), 1_000);
    }

    #[test]
    fn renders_one_problem_per_line_with_its_hint() {
        let errors = ConfigErrors::new(
            Path::new("promotion.yaml"),
            vec![
                Problem::new(
                    Pos {
                        line: 12,
                        column: 9,
                    },
                    "strategies[0].environments[2].automerge",
                    "unknown key `automerge`",
                )
                .with_hint("did you mean `autoMerge`?"),
                Problem::new(
                    Pos {
                        line: 2,
                        column: 13,
                    },
                    "scm.provider",
                    "bad",
                ),
            ],
        );
        assert_eq!(
            errors.to_string(),
            "promotion.yaml:2:13: scm.provider: bad\n\
             promotion.yaml:12:9: strategies[0].environments[2].automerge: unknown key `automerge`\n  hint: did you mean `autoMerge`?"
        );
        assert_eq!(errors.summary(), "promotion.yaml has 2 problems");
    }
}
