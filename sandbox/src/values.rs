//! The sandbox's own small value types, so the forge depends on nothing of promoter: a commit id
//! it hands out ([`Sha`]) and the token it accepts ([`Token`]).
//!
//! Commits are taken as text (`&(impl AsRef<str> + ?Sized)`) by every method of [`crate::Sandbox`], so a
//! caller's own SHA type passes as long as it can show itself as a string; git checks the text.

use std::fmt;

/// A commit id the forge wrote or read: lowercase hex as git prints it (40 digits for SHA-1
/// repositories, 64 for SHA-256).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Sha(String);

impl Sha {
    pub(crate) fn of(oid: git2::Oid) -> Self {
        Self(oid.to_string())
    }

    /// A commit id read from an answer or typed in a test: 40 or 64 hex digits in either case.
    pub fn parse(text: &str) -> Result<Self, String> {
        match git2::Oid::from_str(text) {
            Ok(oid) if matches!(text.len(), 40 | 64) => Ok(Self::of(oid)),
            _ => Err(format!("`{text}` is not a commit id (40 or 64 hex digits)")),
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

impl AsRef<str> for Sha {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl From<Sha> for String {
    fn from(value: Sha) -> Self {
        value.0
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

/// A token the forge accepts (API bearer/`token` header, or git's basic-auth password). Debug and
/// Display print `***`; the value is reachable only through [`Token::expose`].
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, to register it with the store or put it in a request.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_never_shows_its_value() {
        let token = Token::new("hunter2-secret");
        assert_eq!(format!("{token} {token:?}"), "*** ***");
        assert_eq!(token.expose(), "hunter2-secret");
    }

    #[test]
    fn a_sha_shows_gits_lowercase_hex_and_its_short_form() {
        let oid = git2::Oid::from_str("ABCDEF0123456789abcdef0123456789abcdef01").unwrap();
        let sha = Sha::of(oid);
        assert_eq!(sha.as_str(), "abcdef0123456789abcdef0123456789abcdef01");
        assert_eq!(sha.short(), "abcdef0");
        assert_eq!(format!("{sha:?}"), "Sha(abcdef0)");
        assert_eq!(Sha::parse(&"AB".repeat(20)), Ok(Sha::of(oid_of("ab"))));
        assert!(Sha::parse("abc").is_err());
        assert!(Sha::parse(&"g".repeat(40)).is_err());
    }

    fn oid_of(pair: &str) -> git2::Oid {
        git2::Oid::from_str(&pair.repeat(20)).unwrap()
    }
}
