//! The one HTTP path of promoter: an agent built once (User-Agent, timeouts), the provider's auth
//! header from a [`Secret`](crate::model::Secret), non-2xx answers as a typed [`HttpError`] (with a provider hint),
//! `Link` pagination, retries with jittered backoff, and rate-limit waits under a total budget.
//! It owns no provider knowledge beyond what the provider passes in (auth header, fixed headers,
//! hints); URLs, bodies and their meaning live in each provider's folder (`github/`, `gitlab/`,
//! `gitea/`).
//!
//! Retry policy ([`Retry`]): idempotent requests (reads, PATCH with the same body, commit status
//! writes, which GitHub stores as upserts per context) are sent again after a connection error, a
//! timeout or a 5xx, 3 tries in all. Requests whose repetition could act twice (PR create, merge)
//! are sent again only when they certainly did not take effect: the connection was never made, or
//! the SCM answered with a rate limit. After an ambiguous failure the provider re-reads state
//! instead ([`HttpError::is_ambiguous`]).
//!
//! Waiting: `retry-after` first, then a primary-limit reset under a minute away, else a secondary
//! limit waits 60 s once per request (a second one fails). At most 3 rate-limit waits per request.
//! All waits, backoff included, count against [`HttpOptions::max_wait`] over the client's life
//! (one client per run), or against the run's [`WaitBudget`] when one is shared (git's retries
//! draw on it too); a wait past it fails with "rate limited until <RFC 3339 time>". Writes
//! never follow redirects (a redirected POST could silently become a GET); reads do, and keep the
//! token only on the same https host.

mod error;
mod numbered;
mod options;
pub(crate) mod validators;
mod wait;

use std::sync::Arc;
use std::time::Duration;
use std::{fmt, io};

use serde::de::DeserializeOwned;
use ureq::RequestExt;
use ureq::http::{HeaderMap, Uri};

pub(crate) use error::{HttpError, hint};
pub(crate) use options::{
    Auth, HintFn, HttpOptions, RequestHook, RequestRecord, StatusHints, TokenSource,
};
use validators::Cached;
pub use wait::Clock;
pub(crate) use wait::backoff;
use wait::{Limit, SECONDARY_WAIT};
pub(crate) use wait::{SystemClock, WaitBudget, rfc3339};

/// At most this many pages are followed for one listing.
const MAX_PAGES: usize = 50;
/// How much of a non-JSON error body an error shows.
const EXCERPT_CHARS: usize = 300;
/// Rate-limit waits allowed for one request, on top of the total budget.
const MAX_LIMIT_WAITS: u32 = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a request may be sent again after a failure that may have reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retry {
    /// Sending it twice has the effect of sending it once.
    Idempotent,
    /// Sent again only when it certainly did not take effect (see the module doc).
    NotBlindly,
}

/// A 2xx answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// The HTTP client of one provider and one run.
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    /// `scheme://authority`; every URL sent starts with it, next-page links included.
    origin: String,
    /// The API root, without a trailing `/` (e.g. `https://ghe.example.com/api/v3`).
    base: String,
    auth: Option<Auth>,
    fixed_headers: Vec<(&'static str, String)>,
    hint: Option<HintFn>,
    options: HttpOptions,
    budget: Arc<WaitBudget>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("base", &self.base)
            .field("auth", &self.auth)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// `base_url` is the API root (`https://api.github.com`); it must be http or https.
    pub(crate) fn new(
        base_url: &str,
        auth: Option<Auth>,
        options: HttpOptions,
    ) -> Result<Self, HttpError> {
        let base = base_url.trim_end_matches('/').to_owned();
        let uri: Uri = base
            .parse()
            .map_err(|_| HttpError::Setup(format!("`{base}` is not a URL")))?;
        let scheme = uri.scheme_str().unwrap_or_default();
        let (true, Some(authority)) = (matches!(scheme, "http" | "https"), uri.authority()) else {
            return Err(HttpError::Setup(format!(
                "`{base}` is not an http(s) URL with a host"
            )));
        };
        if uri.query().is_some() {
            return Err(HttpError::Setup(format!("`{base}` must not have a query")));
        }
        let origin = format!("{scheme}://{authority}");
        let config = ureq::Agent::config_builder()
            // Non-2xx answers come back as responses so their bodies can be read (ureq 3 docs,
            // `http_status_as_error`).
            .http_status_as_error(false)
            .user_agent(format!("promoter/{}", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(options.connect_timeout))
            .timeout_global(Some(options.request_timeout))
            // Redirects (GitHub answers 301 for renamed repositories, docs "Best practices for
            // using the REST API" → "Follow redirects") keep the token only on the same https host.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .tls_config(
                options
                    .trust
                    .tls_config_for(&base)
                    .map_err(HttpError::Setup)?,
            )
            .build();
        let budget = options
            .budget
            .clone()
            .unwrap_or_else(|| WaitBudget::new(options.max_wait, options.clock.clone()));
        Ok(Self {
            agent: ureq::Agent::new_with_config(config),
            origin,
            base,
            auth,
            fixed_headers: Vec::new(),
            hint: None,
            options,
            budget,
        })
    }

    /// A header sent on every request (e.g. GitHub's `Accept` and `X-GitHub-Api-Version`).
    pub(crate) fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.fixed_headers.push((name, value.into()));
        self
    }

    /// The provider's advice for error statuses.
    pub(crate) fn with_hint(mut self, hint: HintFn) -> Self {
        self.hint = Some(hint);
        self
    }

    pub(crate) fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// The API root, without a trailing `/` (what request paths are relative to).
    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Sleeps `wait` on the run's wait budget (`--max-wait`), for a provider polling a task;
    /// `false` (without sleeping) when the budget would be exceeded.
    pub(crate) fn pause(&self, wait: Duration) -> bool {
        self.wait(wait).is_ok()
    }

    /// The path of the API root below its origin (`/2.0`, `/api/v3`; empty for an origin).
    pub(crate) fn base_path(&self) -> &str {
        self.base.strip_prefix(&self.origin).unwrap_or_default()
    }

    /// Whether a GET of `path` would be sent conditionally (its validators are kept).
    pub(crate) fn has_validators(&self, path: &str) -> bool {
        self.options
            .validators
            .as_ref()
            .is_some_and(|store| store.get(&format!("{}{path}", self.base)).is_some())
    }

    /// Sends one request to `path` (relative to the API root, query included) and returns the 2xx
    /// answer, retrying and waiting as the module doc says.
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Result<Answer, HttpError> {
        let url = format!("{}{}", self.base, path);
        self.send_url(method, &url, body, retry)
    }

    /// GET `path` and decode the JSON body.
    /// Sends `body` as JSON with `method` to `path` and decodes the JSON answer.
    pub(crate) fn send_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &impl serde::Serialize,
        retry: Retry,
    ) -> Result<T, HttpError> {
        let body = serde_json::to_value(body).expect("wire bodies serialise");
        let answer = self.send(method, path, Some(&body), retry)?;
        decode(
            method,
            &self.shown_path(&format!("{}{path}", self.base)),
            &answer.body,
        )
    }

    pub(crate) fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, HttpError> {
        let answer = self.send(Method::Get, path, None, Retry::Idempotent)?;
        decode(
            Method::Get,
            &self.shown_path(&format!("{}{path}", self.base)),
            &answer.body,
        )
    }

    /// GET `path` and every page its `Link: rel="next"` headers lead to, decoding each page.
    ///
    /// GitHub docs "Using pagination in the REST API": follow the `next` URL of the `link` header
    /// instead of building page URLs. Gitea and GitLab send the same header.
    pub(crate) fn get_pages<T: DeserializeOwned>(
        &self,
        path: &str,
        mut each: impl FnMut(T),
    ) -> Result<(), HttpError> {
        let mut url = format!("{}{}", self.base, path);
        for _ in 0..MAX_PAGES {
            let answer = self.send_url(Method::Get, &url, None, Retry::Idempotent)?;
            each(decode(Method::Get, &self.shown_path(&url), &answer.body)?);
            match answer.header("link").and_then(next_link) {
                Some(next) if next.starts_with(&format!("{}/", self.origin)) => url = next,
                // The token goes to the API's own origin only.
                Some(next) => {
                    return Err(HttpError::Decode {
                        method: Method::Get,
                        path: self.shown_path(&url),
                        detail: format!(
                            "next-page link leaves {}: {}",
                            self.origin,
                            strip_query(&next)
                        ),
                    });
                }
                None => return Ok(()),
            }
        }
        Err(HttpError::Decode {
            method: Method::Get,
            path: self.shown_path(&url),
            detail: format!("more than {MAX_PAGES} pages"),
        })
    }

    fn send_url(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        retry: Retry,
    ) -> Result<Answer, HttpError> {
        let path = self.shown_path(url);
        let body = body.map(|b| serde_json::to_vec(b).expect("a JSON value serialises"));
        // Asked once per request, so a token about to expire is refreshed before it is sent.
        let token = self.auth.as_ref().map(Auth::current).transpose()?;
        // A GET answered before with a validator is asked "changed since?" (validators.rs).
        let cached = match (method, &self.options.validators) {
            (Method::Get, Some(store)) => store.get(url),
            _ => None,
        };
        let conditional: Vec<(&'static str, &str)> = cached
            .iter()
            .flat_map(|c| {
                [
                    c.etag.as_deref().map(|v| ("if-none-match", v)),
                    c.last_modified.as_deref().map(|v| ("if-modified-since", v)),
                ]
            })
            .flatten()
            .collect();
        let mut attempt = 0;
        let mut failed_tries = 0;
        let mut limit_waits = 0;
        let mut secondary_waited = false;
        loop {
            attempt += 1;
            let result = self.try_once(method, url, body.as_deref(), token.as_ref(), &conditional);
            if let Some(hook) = &self.options.on_request {
                hook(&RequestRecord {
                    method,
                    path: path.clone(),
                    status: result.as_ref().ok().map(|a| a.status),
                    attempt,
                });
            }
            let error = match result {
                // RFC 9110 §15.4.5: 304 means the kept body is still the answer.
                Ok(answer) if answer.status == 304 && cached.is_some() => {
                    return Ok(not_modified(cached.expect("checked above")));
                }
                Ok(answer) if (200..300).contains(&answer.status) => {
                    if method == Method::Get {
                        self.remember(url, &answer);
                    }
                    return Ok(answer);
                }
                Ok(answer) => {
                    let message = self.message_of(&answer.body);
                    let now = self.options.clock.now();
                    if let Some(limit) =
                        wait::rate_limit(answer.status, &answer.headers, &message, now)
                    {
                        // A rate-limited request did not take effect, so any method may be resent.
                        limit_waits += 1;
                        let wait = match limit {
                            Limit::Wait(wait) => Some(wait),
                            // GitHub asks for one minute when a secondary limit names no time; a second
                            // one for the same request means slowing down for longer than a run should.
                            Limit::Secondary if !secondary_waited => {
                                secondary_waited = true;
                                Some(SECONDARY_WAIT)
                            }
                            Limit::Secondary => None,
                            Limit::Until(until) => {
                                return Err(self.rate_limited(method, &path, until));
                            }
                        };
                        match wait {
                            Some(wait) if limit_waits <= MAX_LIMIT_WAITS => {
                                self.wait(wait)
                                    .map_err(|()| self.rate_limited(method, &path, now + wait))?;
                                continue;
                            }
                            _ => {
                                let until = now + wait.unwrap_or(SECONDARY_WAIT);
                                return Err(self.rate_limited(method, &path, until));
                            }
                        }
                    }
                    HttpError::Status {
                        method,
                        path: path.clone(),
                        status: answer.status,
                        hint: self.hint.as_ref().and_then(|h| h(answer.status, &message)),
                        message,
                    }
                }
                Err(transport) => {
                    let error = transport.into_error(method, &path);
                    if let HttpError::Certificate { problem, .. } = &error {
                        self.options.trust.record_refusal(problem);
                    }
                    error
                }
            };
            failed_tries += 1;
            let may_resend = match (&error, retry) {
                (HttpError::Status { status, .. }, Retry::Idempotent) => *status >= 500,
                (HttpError::Transport { .. }, Retry::Idempotent) => true,
                (HttpError::Transport { maybe_sent, .. }, Retry::NotBlindly) => !maybe_sent,
                _ => false,
            };
            if !may_resend || failed_tries >= self.options.tries {
                return Err(error);
            }
            // Backoff counts against the same budget; past it the real error is the better report.
            if self
                .wait(wait::backoff(self.options.backoff, failed_tries))
                .is_err()
            {
                return Err(error);
            }
        }
    }

    /// Keeps a GET answer's validators and body for the next pass, when a store is set.
    fn remember(&self, url: &str, answer: &Answer) {
        let Some(store) = &self.options.validators else {
            return;
        };
        store.put(&Cached {
            url: url.to_owned(),
            etag: answer.header("etag").map(str::to_owned),
            last_modified: answer.header("last-modified").map(str::to_owned),
            link: answer.header("link").map(str::to_owned),
            body: answer.body.clone(),
        });
    }

    fn try_once(
        &self,
        method: Method,
        url: &str,
        body: Option<&[u8]>,
        token: Option<&crate::model::Secret>,
        extra: &[(&'static str, &str)],
    ) -> Result<Answer, Transport> {
        let mut builder = ureq::http::Request::builder()
            .method(method.as_str())
            .uri(url);
        for (name, value) in &self.fixed_headers {
            builder = builder.header(*name, value);
        }
        for (name, value) in extra {
            builder = builder.header(*name, *value);
        }
        if let (Some(auth), Some(token)) = (&self.auth, token) {
            let mut value =
                ureq::http::HeaderValue::try_from(format!("{}{}", auth.prefix, token.expose()))
                    .map_err(|_| {
                        Transport::setup("the token contains characters not allowed in a header")
                    })?;
            value.set_sensitive(true);
            builder = builder.header(auth.header, value);
        }
        let response = match body {
            Some(body) => {
                let request = builder
                    .header("content-type", "application/json")
                    .body(body.to_vec())
                    .map_err(|e| Transport::setup(&e.to_string()))?;
                // Writes never follow redirects: a redirected POST may silently become a GET.
                request
                    .with_agent(&self.agent)
                    .configure()
                    .max_redirects(0)
                    .max_redirects_will_error(false)
                    .build()
                    .run()
            }
            None => {
                let request = builder
                    .body(())
                    .map_err(|e| Transport::setup(&e.to_string()))?;
                request.with_agent(&self.agent).run()
            }
        };
        let response = response.map_err(|e| Transport::from_ureq(e, &self.origin))?;
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .read_to_string()
            .map_err(|e| Transport::from_ureq(e, &self.origin))?;
        Ok(Answer {
            status,
            headers,
            body: redact(body),
        })
    }

    /// Adds `wait` to the run's total and sleeps, or refuses when the budget would be exceeded.
    fn wait(&self, wait: Duration) -> Result<(), ()> {
        if self.budget.wait(wait) {
            Ok(())
        } else {
            Err(())
        }
    }

    fn rate_limited(&self, method: Method, path: &str, until: std::time::SystemTime) -> HttpError {
        HttpError::RateLimited {
            method,
            path: path.to_owned(),
            until: rfc3339(until),
        }
    }

    /// The SCM's message: `message` and `errors[].message` of a JSON body (GitHub "basic-error" and
    /// "validation-error"; Gitea and GitLab use `message` too), else a body excerpt; on one line,
    /// whatever the server put in it ([`crate::untrusted::one_line`]).
    fn message_of(&self, body: &str) -> String {
        crate::untrusted::one_line(&self.message_parts(body)).into_owned()
    }

    fn message_parts(&self, body: &str) -> String {
        if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(body) {
            let mut parts: Vec<String> = Vec::new();
            match map.get("message").or_else(|| map.get("error")) {
                Some(serde_json::Value::String(m)) => parts.push(m.clone()),
                // Bitbucket Cloud: `{"type": "error", "error": {"message", "detail"?}}`
                // (https://developer.atlassian.com/cloud/bitbucket/rest/intro/#standardized-error-responses).
                Some(serde_json::Value::Object(error))
                    if error.get("message").is_some_and(|m| m.is_string()) =>
                {
                    parts.extend(
                        ["message", "detail"]
                            .into_iter()
                            .filter_map(|key| error.get(key)?.as_str().map(str::to_owned)),
                    );
                }
                Some(other) if !other.is_null() => parts.push(other.to_string()),
                _ => {}
            }
            if let Some(serde_json::Value::Array(errors)) = map.get("errors") {
                parts.extend(errors.iter().filter_map(|e| {
                    match e {
                        serde_json::Value::String(s) => Some(s.clone()),
                        other => other
                            .get("message")
                            .and_then(|m| m.as_str())
                            .map(str::to_owned),
                    }
                }));
            }
            if !parts.is_empty() {
                return parts.join("; ");
            }
        }
        let trimmed = body.trim();
        if trimmed.is_empty() {
            return "(empty body)".into();
        }
        let mut excerpt: String = trimmed.chars().take(EXCERPT_CHARS).collect();
        if excerpt.len() < trimmed.len() {
            excerpt.push('…');
        }
        excerpt
    }

    /// The path shown in errors and logs: below the origin, without the query.
    fn shown_path(&self, url: &str) -> String {
        let below = url.strip_prefix(&self.origin).unwrap_or(url);
        strip_query(below).to_owned()
    }
}

/// The answer a 304 stands for: the kept body and `link` header, status 304 so logs can tell.
fn not_modified(cached: Cached) -> Answer {
    let mut headers = HeaderMap::new();
    if let Some(link) = cached
        .link
        .and_then(|l| ureq::http::HeaderValue::try_from(l).ok())
    {
        headers.insert("link", link);
    }
    Answer {
        status: 304,
        headers,
        body: cached.body,
    }
}

/// Bodies never carry a secret back out, even if a server echoes it whole, in part or as
/// `Basic base64(user:token)` (`token` registered itself when it was created; see
/// [`crate::redact`]).
fn redact(body: String) -> String {
    match crate::redact::text(&body) {
        std::borrow::Cow::Borrowed(_) => body,
        std::borrow::Cow::Owned(redacted) => redacted,
    }
}

fn strip_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn decode<T: DeserializeOwned>(method: Method, path: &str, body: &str) -> Result<T, HttpError> {
    serde_json::from_str(body).map_err(|e| HttpError::Decode {
        method,
        path: path.to_owned(),
        detail: e.to_string(),
    })
}

/// The `rel="next"` URL of a `Link` header (RFC 8288): `<url>; rel="next", <url>; rel="last"`.
fn next_link(header: &str) -> Option<String> {
    header.split(',').find_map(|link| {
        let mut parts = link.split(';');
        let target = parts.next()?.trim().strip_prefix('<')?.strip_suffix('>')?;
        let is_next = parts.any(|param| {
            let param = param.trim();
            param
                .strip_prefix("rel=")
                .map(|rel| {
                    rel.trim_matches('"')
                        .split_whitespace()
                        .any(|r| r == "next")
                })
                .unwrap_or(false)
        });
        is_next.then(|| target.to_owned())
    })
}

/// A try that got no answer.
#[derive(Debug)]
struct Transport {
    detail: String,
    maybe_sent: bool,
    /// The server's certificate was refused; `detail` says why.
    certificate: bool,
}

impl Transport {
    fn setup(detail: &str) -> Self {
        Self {
            detail: detail.to_owned(),
            maybe_sent: false,
            certificate: false,
        }
    }

    fn into_error(self, method: Method, path: &str) -> HttpError {
        if self.certificate {
            return HttpError::Certificate {
                method,
                path: path.to_owned(),
                problem: self.detail,
            };
        }
        HttpError::Transport {
            method,
            path: path.to_owned(),
            detail: self.detail,
            maybe_sent: self.maybe_sent,
        }
    }
}

impl Transport {
    /// `origin` (`scheme://host:port`) names the server in a certificate problem.
    fn from_ureq(error: ureq::Error, origin: &str) -> Self {
        use ureq::Timeout;
        let host = origin.split_once("://").map_or(origin, |(_, host)| host);
        if let Some(problem) = crate::tls::certificate_problem(&error, host) {
            return Self {
                detail: problem,
                maybe_sent: false,
                certificate: true,
            };
        }
        let maybe_sent = match &error {
            ureq::Error::ConnectionFailed
            | ureq::Error::HostNotFound
            | ureq::Error::BadUri(_)
            | ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => false,
            ureq::Error::Io(io) => !matches!(
                io.kind(),
                io::ErrorKind::ConnectionRefused | io::ErrorKind::AddrNotAvailable
            ),
            _ => true,
        };
        // ureq's messages name hosts and timeouts, never header values.
        Self {
            detail: error.to_string(),
            maybe_sent,
            certificate: false,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
