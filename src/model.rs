//! Newtypes for the words of the domain: commit SHAs, branch names, gate keys, PR numbers and
//! secrets. They validate on construction so the rest of the code can trust them; they own no I/O.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A full git object id: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha(String);

impl Sha {
    /// Accepts 40 or 64 hex digits in either case; stores them lowercase.
    pub fn parse(text: &str) -> Result<Self, String> {
        let ok = matches!(text.len(), 40 | 64) && text.bytes().all(|b| b.is_ascii_hexdigit());
        if ok {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            // `text` comes from hydrator.metadata or a git note: shown on one line, and not whole
            // when it is long.
            let mut shown: String = text.chars().take(80).collect();
            if shown.len() < text.len() {
                shown.push('…');
            }
            Err(format!(
                "`{}` is not a commit SHA (40 or 64 hex digits)",
                crate::untrusted::one_line(&shown)
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first seven digits, as git and the SCMs show them.
    pub fn short(&self) -> &str {
        &self.0[..7]
    }
}

impl TryFrom<String> for Sha {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Sha> for String {
    fn from(value: Sha) -> Self {
        value.0
    }
}

impl AsRef<str> for Sha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Unit tests run against the sandbox forge, which hands out its own commit id type (lowercase
/// hex already).
#[cfg(test)]
impl From<sandbox::Sha> for Sha {
    fn from(value: sandbox::Sha) -> Self {
        Self(value.into())
    }
}

#[cfg(test)]
impl PartialEq<sandbox::Sha> for Sha {
    fn eq(&self, other: &sandbox::Sha) -> bool {
        self.0 == other.as_str()
    }
}

#[cfg(test)]
impl PartialEq<Sha> for sandbox::Sha {
    fn eq(&self, other: &Sha) -> bool {
        self.as_str() == other.0
    }
}

impl fmt::Display for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Sha {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha({})", self.short())
    }
}

/// A branch name without `refs/heads/`, checked against git's ref-name rules.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BranchName(String);

impl BranchName {
    /// Checks git's `check-ref-format` rules for a branch name and says which one is broken.
    pub fn parse(name: &str) -> Result<Self, String> {
        check_branch_name(name)?;
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `refs/heads/<name>`.
    pub fn full_ref(&self) -> String {
        format!("refs/heads/{}", self.0)
    }
}

fn check_branch_name(name: &str) -> Result<(), String> {
    // Rules from git-check-ref-format(1), plus git's refusal of branch names starting with `-`.
    if name.is_empty() {
        return Err("a branch name cannot be empty".into());
    }
    if name.starts_with('-') {
        return Err("a branch name cannot start with `-`".into());
    }
    if name == "HEAD" {
        return Err("`HEAD` is git's name for the current commit, not a branch name".into());
    }
    if name.starts_with('/') || name.ends_with('/') {
        return Err("a branch name cannot start or end with `/`".into());
    }
    if name.ends_with('.') {
        return Err("a branch name cannot end with `.`".into());
    }
    if name.contains("..") {
        return Err("a branch name cannot contain `..`".into());
    }
    if name.contains("//") {
        return Err("a branch name cannot contain `//`".into());
    }
    if name.contains("@{") || name == "@" {
        return Err("a branch name cannot contain `@{` or be `@`".into());
    }
    if let Some(bad) = name
        .chars()
        .find(|c| c.is_control() || matches!(c, ' ' | '~' | '^' | ':' | '?' | '*' | '[' | '\\'))
    {
        let shown = if bad.is_control() {
            format!("{:?}", bad)
        } else {
            format!("`{bad}`")
        };
        return Err(format!(
            "a branch name cannot contain {shown} (spaces, control characters and ~^:?*[\\ are not allowed)"
        ));
    }
    for component in name.split('/') {
        if component.starts_with('.') {
            return Err(format!(
                "a branch name component cannot start with `.` (`{component}`)"
            ));
        }
        if component.ends_with(".lock") {
            return Err(format!(
                "a branch name component cannot end with `.lock` (`{component}`)"
            ));
        }
    }
    Ok(())
}

impl TryFrom<String> for BranchName {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<BranchName> for String {
    fn from(value: BranchName) -> Self {
        value.0
    }
}

impl fmt::Display for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for BranchName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// The name of a gate: `[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?`, at most 63 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GateKey(String);

/// The commit status promoter writes on a staging tip to order environments (docs/design.md §3).
pub(crate) const PREVIOUS_ENVIRONMENT: &str = "promoter-previous-environment";

impl GateKey {
    pub const MAX_LEN: usize = 63;

    pub fn parse(key: &str) -> Result<Self, String> {
        if key.is_empty() {
            return Err("a gate key cannot be empty".into());
        }
        if key.len() > Self::MAX_LEN {
            return Err(format!(
                "a gate key is at most {} characters; this one has {}",
                Self::MAX_LEN,
                key.len()
            ));
        }
        let bytes = key.as_bytes();
        let inner_ok = bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        let ends_ok =
            bytes[0].is_ascii_alphanumeric() && bytes[bytes.len() - 1].is_ascii_alphanumeric();
        if !inner_ok || !ends_ok {
            return Err(format!(
                "`{key}` is not a valid gate key: use letters, digits, `-`, `_` and `.`, starting and ending with a letter or digit"
            ));
        }
        Ok(Self(key.to_owned()))
    }

    /// The built-in previous-environment gate.
    pub fn previous_environment() -> Self {
        Self(PREVIOUS_ENVIRONMENT.to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for GateKey {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<GateKey> for String {
    fn from(value: GateKey) -> Self {
        value.0
    }
}

impl fmt::Display for GateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for GateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// A pull request number (GitHub, Gitea) or merge request IID (GitLab).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
pub struct PrNumber(pub u64);

impl fmt::Display for PrNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A token or key. Debug and Display print `***`; the value is reachable only through
/// [`Secret::expose`], so a secret cannot reach a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Also registers the value with [`crate::redact`], so no fragment of it is ever shown.
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        crate::redact::register(&value);
        Self(value)
    }

    /// The raw value, for an Authorization header or a git credential callback only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The state of one gate on one commit, after mapping each SCM's words (docs/design.md §4.1).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GateState {
    Pending,
    Success,
    Failure,
}

impl GateState {
    pub fn as_str(self) -> &'static str {
        match self {
            GateState::Pending => "pending",
            GateState::Success => "success",
            GateState::Failure => "failure",
        }
    }
}

/// One hydrated commit as commit-rule gates see it (docs/gates.md "commit"): the git layer fills
/// it, `gates::commit_rule` evaluates rules over it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GateCommit {
    pub sha: Sha,
    pub subject: String,
    pub body: String,
    /// E-mail address.
    pub author: String,
    pub author_name: String,
    /// E-mail address.
    pub committer: String,
    pub committer_name: String,
    /// Trailer key → its values, in message order.
    pub trailers: std::collections::BTreeMap<String, Vec<String>>,
}

/// The parsed `hydrator.metadata` of one hydrated commit (docs/design.md §1). The git layer fills it; the
/// planner and the PR templates read it. Optional text fields are empty strings when absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydratorMetadata {
    /// The DRY commit this hydrated commit was rendered from.
    pub dry_sha: Sha,
    pub repo_url: String,
    /// `Name <email>`.
    pub author: String,
    /// The DRY commit time; `None` when empty or missing ("unknown", not an error).
    pub date: Option<time::OffsetDateTime>,
    pub subject: String,
    pub body: String,
    pub references: Vec<ReferenceCommit>,
}

/// One `references[].commit` entry of `hydrator.metadata`: a commit elsewhere (e.g. the app
/// repository) that led to this DRY commit. Displayed only, never used to decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferenceCommit {
    pub sha: Option<Sha>,
    pub repo_url: String,
    pub author: String,
    pub date: Option<time::OffsetDateTime>,
    pub subject: String,
    pub body: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn branch_names_follow_git_rules() {
        for good in [
            "environment/dev",
            "environment/dev-next",
            "env/prod-next/apps/guestbook",
            "a.b",
        ] {
            assert!(BranchName::parse(good).is_ok(), "{good} should be valid");
        }
        for bad in [
            "",
            "-x",
            "a..b",
            "a/",
            "/a",
            "a.lock",
            "x/y.lock/z",
            "a b",
            "a\tb",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a@{1}",
            "@",
            ".hidden",
            "a/.b",
            "a.",
            "a//b",
            "HEAD",
        ] {
            assert!(BranchName::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn gate_keys_follow_the_spec_pattern() {
        for good in ["health", "argocd-health", "a", "security_scan.v2", "x9"] {
            assert!(GateKey::parse(good).is_ok(), "{good}");
        }
        let long = "a".repeat(64);
        for bad in ["", "-a", "a-", "a b", "a/b", ".a", long.as_str()] {
            assert!(GateKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(GateKey::parse(&"a".repeat(63)).is_ok());
    }

    #[test]
    fn shas_are_40_or_64_hex_digits() {
        assert!(Sha::parse(&"a".repeat(40)).is_ok());
        assert!(Sha::parse(&"B".repeat(64)).is_ok());
        assert_eq!(
            Sha::parse(&"B".repeat(40)).unwrap().as_str(),
            "b".repeat(40)
        );
        assert!(Sha::parse(&"a".repeat(39)).is_err());
        assert!(Sha::parse(&"g".repeat(40)).is_err());
    }

    #[test]
    fn secrets_never_print() {
        let secret = Secret::new("ghp_supersecret");
        assert_eq!(format!("{secret} {secret:?}"), "*** ***");
        // Creating it registered it: no text promoter writes can show it or a piece of it.
        assert_eq!(
            crate::redact::text("echo ghp_supersecret, ghp_supe"),
            "echo ***, ***"
        );
    }
}
