//! Fault injection and the request log: what tests use to make the forge misbehave on purpose
//! (a 502, a secondary rate limit, a slow answer) and to count the exact API calls a client made.
//! Matching is on the HTTP method and the path without the query; `*` in a pattern matches any
//! run of characters, `/` included.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Code a test runs inside the forge when a fault fires, e.g. another runner's whole pass
/// between this runner's observation and its write ([`Fault::before`]).
#[derive(Clone)]
pub(crate) struct Hook(Arc<dyn Fn() + Send + Sync>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Hook")
    }
}

/// The next `times` requests matching `method` and `path` get this answer instead of the real one
/// (and/or are delayed first).
///
/// ```
/// use sandbox::Fault;
/// let fault = Fault::new("PUT", "/api/v3/repos/*/pulls/*/merge")
///     .times(2)
///     .status(502)
///     .body(r#"{"message":"Server Error"}"#);
/// # let _ = fault;
/// ```
#[derive(Debug, Clone)]
pub struct Fault {
    method: String,
    path: String,
    remaining: usize,
    delay: Option<Duration>,
    delay_after: Option<Duration>,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    ghost: bool,
    hook: Option<Hook>,
    /// Only requests whose body contains this text (Azure DevOps updates and completes a PR
    /// with the same `PATCH`).
    body_contains: Option<String>,
}

impl Fault {
    /// Matches `method` (`*` = any) and `path` (a pattern; `*` matches anything) once by default.
    pub fn new(method: &str, path: &str) -> Self {
        Self {
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            remaining: 1,
            delay: None,
            delay_after: None,
            status: None,
            headers: Vec::new(),
            body: Vec::new(),
            ghost: false,
            hook: None,
            body_contains: None,
        }
    }

    /// Matches only requests whose body contains `text`.
    pub fn body_contains(mut self, text: &str) -> Self {
        self.body_contains = Some(text.to_owned());
        self
    }

    /// How many matching requests it applies to.
    pub fn times(mut self, count: usize) -> Self {
        self.remaining = count;
        self
    }

    /// Answer with this status instead of the real answer.
    pub fn status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }

    /// A header of the injected answer; replaces a default header of the same name.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = body.as_bytes().to_vec();
        self
    }

    /// A ghost write: the request is served for real (it takes effect), then the client gets the
    /// injected answer instead of the real one — an answer lost on the way back.
    pub fn ghost(mut self) -> Self {
        self.ghost = true;
        self
    }

    /// Run `hook` when the request arrives, before it is delayed or answered (the real answer
    /// unless [`Fault::status`] is set too). The forge serves other requests meanwhile.
    pub fn before(mut self, hook: impl Fn() + Send + Sync + 'static) -> Self {
        self.hook = Some(Hook(Arc::new(hook)));
        self
    }

    /// Wait this long before answering (the real answer, unless [`Fault::status`] is set too).
    pub fn delay(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }

    /// Serve the request for real, then wait this long before answering: a client that gives
    /// up first sees no answer for a write that took effect.
    pub fn delay_after(mut self, delay: Duration) -> Self {
        self.delay_after = Some(delay);
        self
    }

    fn matches(&self, method: &str, path: &str, body: &[u8]) -> bool {
        self.remaining > 0
            && (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && glob_matches(&self.path, path)
            && self
                .body_contains
                .as_ref()
                .is_none_or(|text| String::from_utf8_lossy(body).contains(text.as_str()))
    }
}

/// `(status, headers, body)` of an injected answer.
pub(crate) type InjectedAnswer = (u16, Vec<(String, String)>, Vec<u8>);

/// What one matching request gets.
#[derive(Debug, Clone)]
pub(crate) struct FaultHit {
    pub delay: Option<Duration>,
    /// Wait after the real answer was made, before sending it.
    pub delay_after: Option<Duration>,
    /// `(status, headers, body)` to answer with, when the fault replaces the answer.
    pub answer: Option<InjectedAnswer>,
    /// Serve the request for real before answering with `answer`.
    pub ghost: bool,
    pub hook: Option<Hook>,
}

impl FaultHit {
    /// Runs the fault's hook, if it has one.
    pub(crate) fn run_hook(&self) {
        if let Some(Hook(hook)) = &self.hook {
            hook();
        }
    }
}

/// The armed faults, in the order they were injected; the first match wins.
#[derive(Debug, Default)]
pub(crate) struct Faults(Vec<Fault>);

impl Faults {
    pub(crate) fn push(&mut self, fault: Fault) {
        self.0.push(fault);
    }

    pub(crate) fn take(&mut self, method: &str, path: &str, body: &[u8]) -> Option<FaultHit> {
        let fault = self
            .0
            .iter_mut()
            .find(|fault| fault.matches(method, path, body))?;
        fault.remaining -= 1;
        let hit = FaultHit {
            delay: fault.delay,
            delay_after: fault.delay_after,
            answer: fault
                .status
                .map(|status| (status, fault.headers.clone(), fault.body.clone())),
            ghost: fault.ghost,
            hook: fault.hook.clone(),
        };
        self.0.retain(|fault| fault.remaining > 0);
        Some(hit)
    }
}

/// One request as the forge saw it. Headers are not kept (they carry the token).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    pub method: String,
    /// The path without the query, e.g. `/api/v3/repos/acme/deploy/pulls`.
    pub path: String,
    /// The raw query string without `?` (empty when there is none).
    pub query: String,
    /// The request body as text (empty for git transfers, which are binary).
    pub body: String,
    pub status: u16,
    /// Who the request's credential belongs to (a login, or `app <id> (JWT)`); `None` when it
    /// had none or an unknown or expired one. Tokens themselves are never logged.
    pub caller: Option<String>,
}

/// `*` matches any run of characters; everything else matches itself.
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, rest) = parts.split_first().expect("split yields at least one part");
    let Some(mut remaining) = text.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = rest.split_last().expect("a pattern with `*` has two parts");
    for part in middle {
        match remaining.find(part) {
            Some(at) => remaining = &remaining[at + part.len()..],
            None => return false,
        }
    }
    remaining.len() >= last.len() && remaining.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glob_star_matches_any_run_including_slashes() {
        assert!(glob_matches("/a/*/c", "/a/b/x/c"));
        assert!(glob_matches("*", "/anything"));
        assert!(glob_matches("/a/*", "/a/"));
        assert!(glob_matches("/x/*/pulls/*/merge", "/x/o/r/pulls/3/merge"));
        assert!(!glob_matches("/a/*/c", "/a/b/d"));
        assert!(!glob_matches("/a", "/a/b"));
        assert!(!glob_matches("*ab*ab", "xab"));
    }

    #[test]
    fn a_fault_applies_to_exactly_its_count_of_matching_requests() {
        let mut faults = Faults::default();
        faults.push(Fault::new("get", "/p/*").times(2).status(500));
        assert!(faults.take("POST", "/p/1", b"").is_none());
        assert_eq!(
            faults
                .take("GET", "/p/1", b"")
                .and_then(|hit| hit.answer)
                .map(|a| a.0),
            Some(500)
        );
        assert!(faults.take("GET", "/p/2", b"").is_some());
        assert!(faults.take("GET", "/p/3", b"").is_none());
    }

    #[test]
    fn a_fault_with_a_body_matcher_skips_other_bodies() {
        let mut faults = Faults::default();
        faults.push(
            Fault::new("PATCH", "/p/*")
                .body_contains("\"completed\"")
                .status(409),
        );
        assert!(faults.take("PATCH", "/p/1", br#"{"title":"t"}"#).is_none());
        assert!(
            faults
                .take("PATCH", "/p/1", br#"{"status":"completed"}"#)
                .is_some()
        );
        assert!(
            faults
                .take("PATCH", "/p/1", br#"{"status":"completed"}"#)
                .is_none()
        );
    }
}
