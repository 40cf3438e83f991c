//! Branch names written in promotion.yaml (`branch`, `stagingBranch`) and the staging branches
//! derived from them: git's rules ([`BranchName::parse`], cross-checked with libgit2), plus what
//! the file adds because a person reads these names to decide what gets deployed: no `refs/`
//! prefix, at most [`MAX_BRANCH_BYTES`], and no invisible or bidirectional-control character
//! (two branches that look the same must not be two branches).
//!
//! Owns these rules, their wording and how a name is shown in a message. Does not own uniqueness
//! or clashes between branches (`strategy.rs`).

use crate::model::BranchName;

use super::super::visible::{invisible, shown};

/// The longest branch name accepted, in bytes. git stores a branch as a file under
/// `refs/heads/`, file systems cap a file name at 255 bytes, and SCMs cap names near there.
pub(super) const MAX_BRANCH_BYTES: usize = 255;

/// Why a name is refused, and what to do about it.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Refusal {
    pub reason: String,
    pub hint: Option<String>,
}

impl Refusal {
    fn new(reason: impl Into<String>) -> Self {
        Refusal {
            reason: reason.into(),
            hint: None,
        }
    }

    fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

/// Checks a branch name as written (surrounding ASCII spaces are dropped, as before; any other
/// space is refused, not trimmed, so what is used is what is shown). The length comes first, so a
/// hostile 100 KB name costs one comparison, not a scan per rule.
pub(super) fn parse(written: &str) -> Result<BranchName, Refusal> {
    let name = written.trim_matches(|c: char| c.is_ascii_whitespace());
    if name.len() > MAX_BRANCH_BYTES {
        return Err(Refusal::new(format!(
            "a branch name is at most {MAX_BRANCH_BYTES} bytes; this one has {}",
            name.len()
        ))
        .hint("use a shorter name; git keeps every branch as a file, and file names are limited"));
    }
    if let Some((index, c, what)) = name
        .chars()
        .enumerate()
        .find_map(|(index, c)| invisible(c).map(|what| (index + 1, c, what)))
    {
        let code = u32::from(c);
        return Err(Refusal::new(format!(
            "it contains U+{code:04X} {what} (character {index}), which is invisible or reorders the text around it"
        ))
        .hint(
            "retype the name: invisible, bidirectional-control and non-ASCII space characters make two different branches look the same",
        ));
    }
    if let Some(rest) = name.strip_prefix("refs/") {
        let short = rest.strip_prefix("heads/").unwrap_or(rest);
        return Err(
            Refusal::new("a branch name is written without `refs/`").hint(format!(
                "write `{}`; promoter adds `refs/heads/` itself",
                shown(short)
            )),
        );
    }
    let branch = BranchName::parse(name).map_err(Refusal::new)?;
    if !crate::git::is_valid_branch_name(name) {
        return Err(Refusal::new("git refuses it as a branch name"));
    }
    Ok(branch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(name: &str) -> String {
        parse(name).unwrap_err().reason
    }

    #[test]
    fn invisible_and_bidi_characters_are_refused_by_code_point() {
        assert_eq!(
            refused("environment/pro\u{200B}d"),
            "it contains U+200B ZERO WIDTH SPACE (character 16), which is invisible or reorders the text around it"
        );
        assert!(refused("env/\u{202E}dorp").contains("U+202E RIGHT-TO-LEFT OVERRIDE"));
        assert!(refused("env/prod\u{00A0}").contains("U+00A0 NO-BREAK SPACE"));
        assert!(refused("\u{2066}env/prod\u{2069}").contains("U+2066 LEFT-TO-RIGHT ISOLATE"));
        assert!(refused("env/\u{FEFF}prod").contains("U+FEFF"));
        assert!(refused("env/prod\u{E0041}").contains("U+E0041 a TAG character"));
        // Letters of other scripts are names, not tricks.
        assert!(parse("environnement/prod-é").is_ok());
        assert!(parse("環境/本番").is_ok());
    }

    #[test]
    fn a_refs_prefix_is_refused_with_the_short_name_as_hint() {
        let refusal = parse("refs/heads/environment/dev").unwrap_err();
        assert_eq!(refusal.reason, "a branch name is written without `refs/`");
        assert_eq!(
            refusal.hint.as_deref(),
            Some("write `environment/dev`; promoter adds `refs/heads/` itself")
        );
        assert!(parse("refs/tags/v1").is_err());
        assert!(parse("environment/refs/dev").is_ok());
    }

    #[test]
    fn names_git_refuses_are_refused() {
        assert_eq!(
            refused(&"a".repeat(300)),
            "a branch name is at most 255 bytes; this one has 300"
        );
        assert!(parse(&"a".repeat(255)).is_ok());
        assert!(refused("HEAD").contains("HEAD"));
        for bad in ["-x", "a..b", "a.lock", "a b", "@", "a@{1}", "x\u{7}"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn whatever_these_rules_accept_libgit2_accepts() {
        // The rules above give the precise message; libgit2 is the reference they must agree with.
        for name in [
            "environment/dev",
            "env/prod-next/apps/guestbook",
            "a.b",
            "feature/über",
            "x@y",
            "a/b.c/d",
        ] {
            assert!(parse(name).is_ok(), "{name}");
            assert!(crate::git::is_valid_branch_name(name), "{name}");
        }
        for name in ["HEAD", "-x", "a..b", "a.lock", "a/", "a//b", ".a"] {
            assert!(!crate::git::is_valid_branch_name(name), "{name}");
        }
        // libgit2 is laxer than git here (git-check-ref-format rule 9); the rules keep git's.
        assert!(crate::git::is_valid_branch_name("@") && parse("@").is_err());
    }
}
