//! The one registry of secrets and the one function that takes them out of text (docs/design.md
//! §8: no token in output, logs, URLs or error messages).
//!
//! Every [`Secret`](crate::model::Secret) registers itself when it is created (a token read from
//! the environment, a GitHub App JWT, a minted installation token), and the git credential
//! callback registers the Basic form it sends ([`register_basic_auth`]). What is registered is
//! every 8-byte window of each form, so [`text`] finds not only the whole secret but any fragment
//! of 8 or more characters of it — a server that echoes a prefix of the token, or
//! `Basic base64(user:token)`, leaks nothing. Forms shorter than [`MIN_FRAGMENT`] bytes are not
//! registered: they cannot be told apart from ordinary words (every SCM's tokens are far longer).
//!
//! [`text`] is called where promoter's text leaves the process: the answers of the HTTP path,
//! git's error messages, everything printed on stdout and stderr, the report file, the GitHub
//! Actions files, and the text promoter writes to the SCM (PR title and description, merge
//! message, status descriptions). The registry only grows during a run, so a text redacted once
//! redacts to itself again: the planner's comparisons stay stable.
//!
//! Cost: one hash-set lookup per byte of text (about 4 ms per MB in a release build, 0.25 ms for a
//! 70 KB commit body, with 21 tokens of up to 300 characters registered);
//! nothing at all before a secret is registered.

use std::borrow::Cow;
use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::RwLock;

use base64::Engine as _;

/// Fragments this long or longer are redacted; shorter forms are not registered.
pub(crate) const MIN_FRAGMENT: usize = 8;

/// What a redacted run of text is replaced with.
pub(crate) const MARK: &str = "***";

static WINDOWS: RwLock<Windows> = RwLock::new(HashSet::with_hasher(BuildHasherDefault::new()));

type Windows = HashSet<u64, BuildHasherDefault<WindowHasher>>;

/// Registers `secret` as it is sent (a header value, a JWT): all its 8-byte windows.
pub(crate) fn register(secret: &str) {
    register_windows(secret.as_bytes(), 0);
}

/// Registers the Basic credential git sends for `user` and `token`: `base64(user:token)` (RFC
/// 7617 §2; libgit2 builds it from the credential callback's user name and password). Windows made
/// only of the encoded user name are left out: they are not secret.
pub(crate) fn register_basic_auth(user: &str, token: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}"));
    // Character `i` of base64 carries bits up to byte `(6i + 5) / 8` of the input; a window is
    // secret when its last character reaches into the token, after `user:`.
    let prefix = user.len() + 1;
    let first_secret_char = (0..encoded.len())
        .find(|i| (6 * i + 5) / 8 >= prefix)
        .unwrap_or(encoded.len());
    let first_window = first_secret_char.saturating_sub(MIN_FRAGMENT - 1);
    register_windows(encoded.as_bytes(), first_window);
    // The token itself is registered too, in case it never went through `Secret::new`.
    register(token);
}

fn register_windows(form: &[u8], first_window: usize) {
    if form.len() < MIN_FRAGMENT {
        return;
    }
    let mut windows = WINDOWS.write().unwrap_or_else(|e| e.into_inner());
    for window in form.windows(MIN_FRAGMENT).skip(first_window) {
        windows.insert(key(window));
    }
}

/// `text` with every run of registered fragments replaced by [`MARK`]. Borrowed when nothing was
/// found.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    let windows = WINDOWS.read().unwrap_or_else(|e| e.into_inner());
    let bytes = text.as_bytes();
    if windows.is_empty() || bytes.len() < MIN_FRAGMENT {
        return Cow::Borrowed(text);
    }
    // Runs of bytes covered by a registered window; any fragment of 8 or more bytes of a secret is
    // covered whole, since every 8-byte window of it is registered.
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (start, window) in bytes.windows(MIN_FRAGMENT).enumerate() {
        if !windows.contains(&key(window)) {
            continue;
        }
        let end = start + MIN_FRAGMENT;
        match runs.last_mut() {
            Some(last) if start <= last.1 => last.1 = end,
            _ => runs.push((start, end)),
        }
    }
    if runs.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for (mut start, mut end) in runs {
        // A secret with non-ASCII characters may match inside one; cut on character boundaries.
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        let start = start.max(from);
        out.push_str(&text[from..start]);
        out.push_str(MARK);
        from = end;
    }
    out.push_str(&text[from..]);
    Cow::Owned(out)
}

/// Every string in `value` redacted (a JSON document is redacted value by value, so a mark never
/// lands inside an escape sequence).
pub(crate) fn json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            if let Cow::Owned(redacted) = text(s) {
                *s = redacted;
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(json),
        serde_json::Value::Object(map) => map.values_mut().for_each(json),
        _ => {}
    }
}

fn key(window: &[u8]) -> u64 {
    let mut bytes = [0; MIN_FRAGMENT];
    bytes.copy_from_slice(window);
    u64::from_le_bytes(bytes)
}

/// The keys are 8 bytes of text; one multiply and a fold spread them well enough for a set that
/// is looked up once per byte of output (SipHash would make the scan several times slower).
#[derive(Default)]
struct WindowHasher(u64);

impl Hasher for WindowHasher {
    fn finish(&self) -> u64 {
        let product = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        product ^ (product >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).wrapping_mul(0x100_0000_01B3);
        }
    }

    fn write_u64(&mut self, value: u64) {
        self.0 = value;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The registry is process-wide; each test registers its own, unrelated secrets.

    #[test]
    fn the_whole_secret_and_every_fragment_of_eight_or_more_characters_are_redacted() {
        let token = "ghp_R3dactW1thFragments0123456789abcdef";
        register(token);
        assert_eq!(text(&format!("a {token} b")), "a *** b");
        assert_eq!(text("prefix: ghp_R3dactW1th."), "prefix: ***.");
        assert_eq!(text("middle x6789abcdx"), "middle x***x");
        assert_eq!(text("seven ghp_R3d only"), "seven ghp_R3d only");
        assert!(matches!(text("nothing here at all"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_basic_form_is_redacted_but_not_the_encoded_user_name_alone() {
        let token = "glpat-B4sicF0rmT0ken-zzzz";
        register_basic_auth("x-access-token", token);
        let basic =
            base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        let shown = text(&format!("Authorization: Basic {basic}")).into_owned();
        // The last characters of the encoded user name share windows with the token's.
        assert_eq!(shown, format!("Authorization: Basic {}***", &basic[..13]));
        assert_eq!(text(&basic[30..]), "***");
        // base64("x-access-token:") alone is not a secret.
        assert_eq!(text("eC1hY2Nlc3MtdG9rZW46"), "eC1hY2Nlc3MtdG9rZW46");
    }

    #[test]
    fn redaction_is_idempotent_and_keeps_character_boundaries() {
        let token = "ünïcødé-s3cret-välue";
        register(token);
        let once = text(&format!("«{token}» and ïcødé-s3c")).into_owned();
        assert_eq!(once, "«***» and ***");
        assert_eq!(text(&once), once);
    }

    #[test]
    fn json_is_redacted_value_by_value() {
        register("json-S3cret-In-A-Value");
        let mut value = serde_json::json!({"a": ["x json-S3cret-In y"], "b": 1});
        json(&mut value);
        assert_eq!(value, serde_json::json!({"a": ["x *** y"], "b": 1}));
    }

    /// About a megabyte of clean text, with 20 GitHub-token-shaped secrets registered.
    fn megabyte_with_secrets_registered() -> String {
        for i in 0..20 {
            register(&format!("ghs_{i:02}{}", "Q7x9".repeat(75)));
        }
        "The quick brown fox jumps over the lazy dog. ".repeat(23_000)
    }

    #[test]
    fn scanning_a_megabyte_borrows_clean_text() {
        let big = megabyte_with_secrets_registered();
        assert!(matches!(text(&big), Cow::Borrowed(_)));
    }

    /// The cost of a scan, printed, not asserted (the machine is shared):
    /// `cargo test --release --lib redact::tests::bench -- --ignored --nocapture`.
    /// About 1 ms for a megabyte in a release build; a quadratic scan would take seconds.
    #[test]
    #[ignore = "benchmark: prints figures"]
    fn bench_scanning_a_megabyte() {
        let big = megabyte_with_secrets_registered();
        let started = std::time::Instant::now();
        let shown = text(&big);
        let took = started.elapsed();
        println!(
            "redact::text over {} bytes, 20 secrets registered: {took:?}",
            big.len()
        );
        assert!(matches!(shown, Cow::Borrowed(_)));
    }
}
