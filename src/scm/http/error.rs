//! The typed error of the HTTP path, and how the top level finds its hint in an anyhow chain.

use super::Method;

/// A failed request. Callers branch on [`HttpError::status`] and [`HttpError::is_ambiguous`].
/// Nothing in it ever holds the token: bodies are redacted, paths carry no query.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The SCM answered with a non-2xx status.
    #[error("{method} {path} answered {status}: {message}")]
    Status {
        method: Method,
        path: String,
        status: u16,
        /// The SCM's `message` (plus `errors[].message` on validation errors) when the body is
        /// JSON, else an excerpt of the body.
        message: String,
        hint: Option<String>,
    },
    /// No answer: connection refused, DNS, TLS, timeout, reset.
    #[error("{method} {path} failed: {detail}")]
    Transport {
        method: Method,
        path: String,
        detail: String,
        /// The request may have reached the server.
        maybe_sent: bool,
    },
    /// The server's TLS certificate was refused: nothing was sent. Not retried.
    #[error("{method} {path} failed: {problem}")]
    Certificate {
        method: Method,
        path: String,
        /// [`crate::tls::certificate_problem`]'s sentence.
        problem: String,
    },
    /// A rate limit that lasts past what this run may wait.
    #[error("{method} {path}: rate limited until {until}")]
    RateLimited {
        method: Method,
        path: String,
        until: String,
    },
    /// A 2xx answer whose body is not what was expected.
    #[error("{method} {path} answered with an unexpected body: {detail}")]
    Decode {
        method: Method,
        path: String,
        detail: String,
    },
    #[error("{0}")]
    Setup(String),
    /// The token for a request could not be had (e.g. minting a GitHub App installation token
    /// failed); the request was not sent. `source` is the failed minting request.
    #[error("{doing}")]
    Credentials {
        doing: String,
        #[source]
        source: Box<HttpError>,
    },
}

impl HttpError {
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The SCM's message for a non-2xx answer.
    pub fn message(&self) -> Option<&str> {
        match self {
            HttpError::Status { message, .. } => Some(message),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            HttpError::Status { hint, .. } => hint.as_deref(),
            HttpError::RateLimited { .. } => {
                Some("the SCM's rate limit is exhausted; run again after the time shown")
            }
            HttpError::Credentials { source, .. } => source.hint(),
            HttpError::Certificate { .. } => Some(crate::tls::CERTIFICATE_HINT),
            _ => None,
        }
    }

    /// The request may or may not have taken effect: no answer after sending, or a 5xx.
    pub fn is_ambiguous(&self) -> bool {
        match self {
            HttpError::Transport { maybe_sent, .. } => *maybe_sent,
            HttpError::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

/// The first hint found in an error chain (for the top level's `hint:` line).
pub(crate) fn hint(error: &anyhow::Error) -> Option<&str> {
    for cause in error.chain() {
        if let Some(http) = cause.downcast_ref::<HttpError>() {
            return http.hint();
        }
        if cause.is::<crate::tls::Untrusted>() {
            return Some(crate::tls::CERTIFICATE_HINT);
        }
    }
    None
}
