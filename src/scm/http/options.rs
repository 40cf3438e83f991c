//! What a provider and a run configure on the HTTP client: the auth header, timeouts, the wait
//! budget, the clock and the request hook. No sending.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{Clock, HttpError, Method, SystemClock, WaitBudget};
use crate::model::Secret;
use crate::tls::Trust;

/// Supplies the token for each request when it is not fixed for the run: a GitHub App JWT (signed
/// anew) or an installation token (minted, then refreshed before it expires). Asked once per
/// request, before the first try; an error stops the request unsent.
pub trait TokenSource: Send + Sync + fmt::Debug {
    fn token(&self) -> Result<Secret, HttpError>;
}

#[derive(Clone)]
enum Credential {
    Fixed(Secret),
    Source(Arc<dyn TokenSource>),
}

/// How the provider authenticates: a header name, a value prefix and the token.
#[derive(Clone)]
pub struct Auth {
    pub(super) header: &'static str,
    pub(super) prefix: &'static str,
    credential: Credential,
}

impl Auth {
    /// `Authorization: Bearer <token>` with the token asked from `source` before every request
    /// (GitHub App JWTs and installation tokens, docs "Authenticating as a GitHub App").
    pub fn bearer_from(source: Arc<dyn TokenSource>) -> Self {
        Self {
            header: "authorization",
            prefix: "Bearer ",
            credential: Credential::Source(source),
        }
    }

    /// The token to send now.
    pub(super) fn current(&self) -> Result<Secret, HttpError> {
        match &self.credential {
            Credential::Fixed(token) => Ok(token.clone()),
            Credential::Source(source) => source.token(),
        }
    }

    /// GitHub: `Authorization: Bearer <token>` (docs "Authenticating to the REST API").
    pub fn bearer(token: Secret) -> Self {
        Self {
            header: "authorization",
            prefix: "Bearer ",
            credential: Credential::Fixed(token),
        }
    }
    /// GitLab: `PRIVATE-TOKEN: <token>` (docs "REST API authentication").
    pub fn private_token(token: Secret) -> Self {
        Self {
            header: "private-token",
            prefix: "",
            credential: Credential::Fixed(token),
        }
    }
    /// Gitea/Forgejo: `Authorization: token <token>` (Gitea API docs "Authentication").
    pub fn token(token: Secret) -> Self {
        Self {
            header: "authorization",
            prefix: "token ",
            credential: Credential::Fixed(token),
        }
    }

    /// HTTP Basic: `Authorization: Basic base64(user ":" token)`
    /// (<https://www.rfc-editor.org/rfc/rfc7617#section-2>). For providers that take a token as a
    /// password (e.g. a personal access token with an empty user name); the encoded pair is a
    /// [`Secret`] too, so it is redacted like the token.
    pub fn basic(user: &str, token: &Secret) -> Self {
        use base64::Engine;
        let pair = format!("{user}:{}", token.expose());
        Self {
            header: "authorization",
            prefix: "Basic ",
            credential: Credential::Fixed(Secret::new(
                base64::engine::general_purpose::STANDARD.encode(pair),
            )),
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Auth({}: {}***)", self.header, self.prefix)
    }
}

/// One attempt, as the request log hook sees it. Never carries the token or a request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    pub method: Method,
    /// Path without the query.
    pub path: String,
    /// `None` when no answer came (connection error, timeout).
    pub status: Option<u16>,
    /// 1 for the first try.
    pub attempt: u32,
}

pub(crate) type RequestHook = Arc<dyn Fn(&RequestRecord) + Send + Sync>;
/// Turns a non-2xx status and the SCM's message into advice for a person, or nothing.
pub(crate) type HintFn = Arc<dyn Fn(u16, &str) -> Option<String> + Send + Sync>;

/// The advice under a provider's 401, 403 and 404 answers: each provider says what its token and
/// repository need; the mapping from status to advice is this one. The SCM's own message is
/// shown above the hint by the error itself, so the hints do not repeat it.
#[derive(Debug, Clone)]
pub(crate) struct StatusHints {
    /// 401 when a token was sent: the SCM refused it.
    pub(crate) refused: String,
    /// 401 when no token was found.
    pub(crate) no_token: String,
    /// 403: a permission is missing (or a rate limit, where the provider says so).
    pub(crate) forbidden: String,
    /// 404: the repository is not visible, or `scm.apiUrl` is wrong.
    pub(crate) not_found: String,
}

impl StatusHints {
    /// The [`HintFn`] of these texts for a run that has (or has not) a token.
    pub(crate) fn hint_fn(self, has_token: bool) -> HintFn {
        Arc::new(move |status, _message| match status {
            401 if has_token => Some(self.refused.clone()),
            401 => Some(self.no_token.clone()),
            403 => Some(self.forbidden.clone()),
            404 => Some(self.not_found.clone()),
            _ => None,
        })
    }
}

/// Knobs of the client. `Default` is what a run uses; tests shorten the waits and inject a clock.
#[derive(Clone)]
pub struct HttpOptions {
    pub connect_timeout: Duration,
    /// The whole exchange, body included, per try.
    pub request_timeout: Duration,
    /// Total time this client may spend waiting (rate limits and backoff) over its life, i.e. one run.
    pub max_wait: Duration,
    /// The run's wait budget when it is shared with other clients and git (its own `max_wait`
    /// and clock then count); `None`: the client has a budget of `max_wait` on `clock` alone.
    pub budget: Option<Arc<WaitBudget>>,
    /// Tries per request for connection errors and 5xx (idempotent requests only).
    pub tries: u32,
    /// The first backoff; doubled per try, jittered.
    pub backoff: Duration,
    pub clock: Arc<dyn Clock>,
    /// Called after every try.
    pub on_request: Option<RequestHook>,
    /// Where the token came from (an environment variable name), for hints. Never the value.
    pub token_source: Option<String>,
    /// The roots an `https://` API is checked against; loaded when the client is built for one.
    pub trust: Arc<Trust>,
    /// Where GET answers' validators are kept for conditional requests (`validators.rs`);
    /// `None`: every GET is sent in full.
    pub validators: Option<Arc<super::validators::Validators>>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_wait: Duration::from_secs(120),
            budget: None,
            tries: 3,
            backoff: Duration::from_secs(1),
            clock: Arc::new(SystemClock),
            on_request: None,
            token_source: None,
            trust: Trust::new(None),
            validators: None,
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_wait", &self.max_wait)
            .field("budget", &self.budget)
            .field("tries", &self.tries)
            .field("backoff", &self.backoff)
            .field("clock", &self.clock)
            .field("token_source", &self.token_source)
            .finish_non_exhaustive()
    }
}
