//! Talking to the remote: one connection that lists refs and, only when asked, fetches over the
//! same connection; and the non-forced push with a compare-and-swap on the old tip. Owns the
//! credential callback, proxy settings, the wording of transport errors and which of them are
//! transient. Does not decide what to fetch (that is `GitCache::sync`).
//!
//! Retries ([`retrying`]), as the SCM API's (`scm/http.rs`): a transient failure — no connection,
//! a dropped one, HTTP 5xx or 429 on the ref listing, the fetch or the push — is tried again, 3
//! tries in all, with jittered backoff drawn from the run's `--max-wait` budget. A refusal (401,
//! 403, 404, a refused token, a certificate) is not. Every try starts over with a new ref listing,
//! so a push is never repeated blindly: its compare-and-swap guard sees whether the lost try
//! landed (the remote is at our commit: done), did not (still at the old tip: push) or the branch
//! moved (`BranchMoved`).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, anyhow};
use git2::{
    AutotagOption, Cred, CredentialType, Direction, FetchOptions, Oid, ProxyOptions, PushOptions,
    RemoteCallbacks, Repository,
};

use super::FetchProgress;
use super::location::RemoteUrl;
use crate::model::{BranchName, Secret};
use crate::scm::http::{WaitBudget, backoff};

/// How transient transport failures are retried.
#[derive(Clone, Debug)]
pub(crate) struct TransportRetry {
    /// Tries in all, the first included.
    pub tries: u32,
    /// The first backoff; doubled per try, jittered.
    pub backoff: Duration,
    /// The run's wait budget, shared with the SCM client.
    pub budget: Arc<WaitBudget>,
}

/// Marks a transport error worth another try (see the module doc).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Transient(String);

/// Runs `attempt` until it succeeds, fails for good, or `retry` allows no more tries or waiting.
/// Without `retry`, once. Each failure that is tried again is added to `retried`.
pub(crate) fn retrying<T>(
    retry: Option<&TransportRetry>,
    retried: &mut Vec<String>,
    mut attempt: impl FnMut() -> Result<T>,
) -> Result<T> {
    let mut failed = 0;
    loop {
        let error = match attempt() {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        failed += 1;
        let Some(retry) = retry else {
            return Err(error);
        };
        if error.downcast_ref::<Transient>().is_none() || failed >= retry.tries {
            return Err(error);
        }
        // Past the budget the real error is the better report.
        if !retry.budget.wait(backoff(retry.backoff, failed)) {
            return Err(error);
        }
        retried.push(format!("{error:#}"));
    }
}

/// Whether a libgit2 error is a transient failure of the transport (libgit2 1.9 sources).
fn is_transient(error: &git2::Error) -> bool {
    let message = error.message();
    // promoter's own smart-HTTP transport (`git/http.rs`): "unexpected http status code 502 Bad
    // Gateway from <url>"; libgit2's http.c (local paths aside, only if that transport is ever
    // used again): "unexpected http status code: %d"; httpclient.c: "proxy returned unexpected
    // status: %d".
    let status = [
        "unexpected http status code",
        "proxy returned unexpected status",
    ]
    .iter()
    .find_map(|prefix| message.strip_prefix(prefix))
    .and_then(|rest| {
        let digits: String = rest
            .trim_start_matches([':', ' '])
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        digits.parse::<u16>().ok()
    });
    match error.class() {
        // streams/socket.c: resolving, connecting, reading and writing, timeouts.
        git2::ErrorClass::Net => true,
        // streams/socket.c: "failed to connect to %s" when the connection is refused.
        git2::ErrorClass::Os => message.starts_with("failed to connect"),
        // 5xx and 429 (RFC 9110 §15.6, RFC 6585 §4); httpclient.c: "unexpected EOF" when the
        // server closed the connection mid-answer. 401/403/404 are answers, not accidents.
        git2::ErrorClass::Http => {
            status.is_some_and(|code| code >= 500 || code == 429) || message == "unexpected EOF"
        }
        _ => false,
    }
}

/// How promoter authenticates git over HTTP(S): a user name and a token, handed to libgit2
/// through its credentials callback, never put in a URL or in the cache's config.
///
/// User names the SCMs expect with a token as password: GitHub `x-access-token`, GitLab
/// `oauth2`, Gitea/Forgejo any name (the token is checked, the name is not). An empty user name
/// sends the token as `Authorization: Bearer` instead (Bitbucket Data Center).
#[derive(Clone, Debug)]
pub(crate) struct GitCredentials {
    pub username: String,
    pub token: Secret,
}

/// Asked for a fresh token before every git transfer (fetch, push), e.g. a GitHub App
/// installation token that is re-minted when close to expiry. The user name stays the same.
pub(crate) type TokenRefresh = std::sync::Arc<dyn Fn() -> Result<Secret> + Send + Sync>;

/// What a fetch received, from libgit2's transfer statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct FetchStats {
    pub received_objects: usize,
    pub received_bytes: usize,
}

/// The refs the remote advertised, and what the fetch (if any) received.
#[derive(Debug)]
pub(crate) struct Listing {
    pub heads: BTreeMap<String, Oid>,
    pub fetched: Option<FetchStats>,
}

/// Raised when the staging branch is no longer at the tip promoter read: nothing was pushed.
/// Callers may downcast to it to report "will retry" instead of a failure.
#[derive(Debug, thiserror::Error)]
#[error(
    "{branch} moved on the remote since it was read; nothing was pushed; the next pass will retry"
)]
pub(crate) struct BranchMoved {
    pub branch: BranchName,
}

/// Counts credential requests so a refused token fails once instead of looping: libgit2 calls
/// the callback again after every 401 and would retry the same token forever. Only libgit2's own
/// transports call it; http(s) remotes go through `super::http`, which sends the token itself
/// and answers a 401 with `ErrorCode::Auth`, worded by `explain` below.
struct Auth<'a> {
    credentials: Option<&'a GitCredentials>,
    requests: Cell<u32>,
}

impl<'a> Auth<'a> {
    fn new(credentials: Option<&'a GitCredentials>) -> Self {
        Self {
            credentials,
            requests: Cell::new(0),
        }
    }

    fn callbacks<'cb>(&'cb self) -> RemoteCallbacks<'cb> {
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(move |_url, _user_from_url, allowed| {
            let request = self.requests.get() + 1;
            self.requests.set(request);
            let Some(credentials) = self.credentials else {
                return Err(git2::Error::from_str("no credentials configured"));
            };
            if request > 1 {
                // The server refused what we sent on the first request; do not retry.
                return Err(git2::Error::from_str("credentials refused"));
            }
            if !allowed.contains(CredentialType::USER_PASS_PLAINTEXT) {
                return Err(git2::Error::from_str(
                    "the server wants a credential type other than user name and token",
                ));
            }
            // libgit2 sends these as `Basic base64(user:token)`; that form must never be shown.
            crate::redact::register_basic_auth(&credentials.username, credentials.token.expose());
            Cred::userpass_plaintext(&credentials.username, credentials.token.expose())
        });
        callbacks
    }

    /// Turns a libgit2 error into one that names the URL without secrets, with a hint when the
    /// cause is known. `doing` is the whole context phrase, URL included (built with
    /// [`RemoteUrl::shown`]), e.g. "fetching from https://example.com/acme/deploy.git".
    fn explain(&self, error: git2::Error, doing: &str, url: &RemoteUrl) -> anyhow::Error {
        let shown = url.shown();
        // The first credential request is the server's normal 401 challenge; only a second one
        // means the token we sent was refused (see `callbacks`). Any other failure after that
        // first request (a 500, a broken pack) is reported as itself.
        let token_refused = self.credentials.is_some() && self.requests.get() > 1;
        // Without credentials the callback fails on its first request: the server wanted some.
        let token_missing = self.credentials.is_none() && self.requests.get() > 0;
        // libgit2 answers a 401 it cannot meet with GIT_EAUTH (http.c: "server requires
        // authentication that we do not support", "unexpected authentication failure").
        let auth_error = error.code() == git2::ErrorCode::Auth;
        if token_refused || token_missing || auth_error {
            let cause = match self.credentials {
                Some(_) => anyhow!(
                    "authentication failed for {shown}\n\
                     hint: check that the token variable (tokenEnv, or PROMOTER_TOKEN) holds a valid, \
                     unexpired token with read and write access to the repository's contents"
                ),
                None => anyhow!(
                    "{shown} asked for credentials, and no token is configured\n\
                     hint: set the token variable named by scm.tokenEnv (or PROMOTER_TOKEN)"
                ),
            };
            return cause.context(doing.to_owned());
        }
        let message = error.message().replace(url.raw(), shown);
        // Every form of the token (whole, fragments, Basic) is registered: see `crate::redact`.
        let message = crate::redact::text(&message).into_owned();
        if is_transient(&error) {
            return anyhow::Error::new(Transient(message)).context(doing.to_owned());
        }
        anyhow!(message).context(doing.to_owned())
    }
}

fn proxy_options<'a>() -> ProxyOptions<'a> {
    // Only libgit2's own transports read these; http(s) remotes go through `super::http`, which
    // takes the proxy from the environment and the roots from the run's trust store.
    let mut proxy = ProxyOptions::new();
    proxy.auto();
    proxy
}

/// Lists the remote's refs; when `refspecs_for` returns refspecs, fetches them over the same
/// connection (one ref advertisement, at most one fetch). `on_progress`, when given, is told
/// libgit2's transfer progress while the fetch runs.
pub(crate) fn list_and_fetch<'p>(
    repo: &Repository,
    url: &RemoteUrl,
    credentials: Option<&GitCredentials>,
    refspecs_for: &dyn Fn(&BTreeMap<String, Oid>) -> Vec<String>,
    mut on_progress: Option<&mut (dyn FnMut(&FetchProgress) + 'p)>,
) -> Result<Listing> {
    let auth = Auth::new(credentials);
    // An anonymous remote is never written to the cache's config, so neither is the URL.
    let mut remote = repo
        .remote_anonymous(url.raw())
        .map_err(|e| auth.explain(e, &format!("preparing to read from {}", url.shown()), url))?;
    let mut connection = remote
        .connect_auth(
            Direction::Fetch,
            Some(auth.callbacks()),
            Some(proxy_options()),
        )
        .map_err(|e| auth.explain(e, &format!("listing the refs of {}", url.shown()), url))?;
    let heads: BTreeMap<String, Oid> = connection
        .list()
        .map_err(|e| auth.explain(e, &format!("listing the refs of {}", url.shown()), url))?
        .iter()
        .map(|head| (head.name().to_owned(), head.oid()))
        .collect();
    let refspecs = refspecs_for(&heads);
    if refspecs.is_empty() {
        return Ok(Listing {
            heads,
            fetched: None,
        });
    }
    // libgit2 counts received bytes only while a transfer-progress callback is installed
    // (smart_protocol.c, network_packetsize).
    let received_bytes = Cell::new(0);
    let mut callbacks = auth.callbacks();
    callbacks.transfer_progress(|progress| {
        received_bytes.set(progress.received_bytes());
        if let Some(on_progress) = on_progress.as_mut() {
            on_progress(&FetchProgress {
                received_objects: progress.received_objects(),
                total_objects: progress.total_objects(),
                indexed_objects: progress.indexed_objects(),
                received_bytes: progress.received_bytes(),
            });
        }
        true
    });
    let mut options = FetchOptions::new();
    options
        .remote_callbacks(callbacks)
        .proxy_options(proxy_options())
        .download_tags(AutotagOption::None)
        .update_fetchhead(false);
    let remote = connection.remote();
    // Download only: the objects of the wanted refs, over this connection, without libgit2's
    // `update_tips`, which matches every advertised ref against the refspecs again (`dowild`,
    // half of a 1,000-environment cold pass's CPU) to write refs the caller writes anyway from
    // the listing (`GitCache::sync_refs`). The refs are the ones advertised above.
    remote
        .download(&refspecs, Some(&mut options))
        .map_err(|e| auth.explain(e, &format!("fetching from {}", url.shown()), url))?;
    let stats = remote.stats();
    Ok(Listing {
        heads,
        fetched: Some(FetchStats {
            received_objects: stats.received_objects(),
            received_bytes: stats.received_bytes().max(received_bytes.get()),
        }),
    })
}

/// Pushes `commit` to `branch` without force, and only if the remote branch is still at
/// `expected_old`.
pub(crate) fn push(
    repo: &Repository,
    url: &RemoteUrl,
    credentials: Option<&GitCredentials>,
    commit: Oid,
    branch: &BranchName,
    expected_old: Oid,
) -> Result<()> {
    let auth = Auth::new(credentials);
    let target = branch.full_ref();
    let moved = Cell::new(false);
    let landed = Cell::new(false);
    let refused: RefCell<Option<String>> = RefCell::new(None);
    let mut callbacks = auth.callbacks();
    callbacks.push_negotiation(|updates| {
        // `src` is the remote's current tip as advertised to this push (libgit2
        // git_push_update). Our commit there means an earlier try whose answer was lost landed
        // (see `retrying`); any other tip than the one we read means someone pushed since.
        let remote = updates
            .iter()
            .find(|update| update.dst_refname().is_ok_and(|name| name == target))
            .map(|update| update.src());
        if remote == Some(commit) {
            landed.set(true);
            return Err(git2::Error::from_str("the push already landed"));
        }
        if remote.is_some_and(|tip| tip != expected_old) {
            moved.set(true);
            return Err(git2::Error::from_str("the branch moved"));
        }
        Ok(())
    });
    callbacks.push_update_reference(|name, status| {
        // A per-ref rejection by the server (receive-pack "ng <ref> <reason>") arrives here,
        // not as an error of push() (libgit2 git_push_update_reference_cb).
        if let Some(status) = status
            && name == target
        {
            *refused.borrow_mut() = Some(status.to_owned());
        }
        Ok(())
    });
    let mut options = PushOptions::new();
    options
        .remote_callbacks(callbacks)
        .proxy_options(proxy_options());
    let mut remote = repo
        .remote_anonymous(url.raw())
        .map_err(|e| auth.explain(e, &format!("preparing to push to {}", url.shown()), url))?;
    // No leading `+`: a non-fast-forward is refused by libgit2 and by the server.
    let refspec = format!("{commit}:{target}");
    let result = remote.push(&[refspec.as_str()], Some(&mut options));
    let doing = format!("pushing {branch} to {}", url.shown());
    if landed.get() {
        return Ok(());
    }
    if moved.get() {
        return Err(BranchMoved {
            branch: branch.clone(),
        }
        .into());
    }
    if let Err(error) = result {
        // libgit2 refuses locally when the remote tip is unknown here or not an ancestor
        // (push.c queue_objects): both mean the branch moved.
        if error.code() == git2::ErrorCode::NotFastForward
            || error.message().contains("not present locally")
        {
            return Err(BranchMoved {
                branch: branch.clone(),
            }
            .into());
        }
        return Err(auth.explain(error, &doing, url));
    }
    if let Some(status) = refused.take() {
        if status.contains("non-fast-forward") || status.contains("fetch first") {
            return Err(BranchMoved {
                branch: branch.clone(),
            }
            .into());
        }
        return Err(anyhow!(
            "{} refused the push to {branch}: {status}\n\
             hint: branch protection on the staging branch must allow the token to push (no force needed)",
            url.shown()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use git2::{ErrorClass, ErrorCode};

    use super::*;
    use crate::scm::http::tests::FakeClock;

    fn error(class: ErrorClass, message: &str) -> git2::Error {
        git2::Error::new(ErrorCode::GenericError, class, message)
    }

    #[test]
    fn server_errors_rate_limits_and_lost_connections_are_transient_refusals_are_not() {
        for transient in [
            error(ErrorClass::Http, "unexpected http status code: 502"),
            error(ErrorClass::Http, "unexpected http status code: 429"),
            error(
                ErrorClass::Http,
                "unexpected http status code 502 Bad Gateway from https://h/r.git/info/refs",
            ),
            error(
                ErrorClass::Net,
                "https://h/r.git/git-upload-pack failed: connection reset",
            ),
            error(ErrorClass::Http, "proxy returned unexpected status: 503"),
            error(ErrorClass::Http, "unexpected EOF"),
            error(ErrorClass::Net, "failed to resolve address for example.com"),
            error(
                ErrorClass::Os,
                "failed to connect to 127.0.0.1: Connection refused",
            ),
        ] {
            assert!(is_transient(&transient), "{transient}");
        }
        for permanent in [
            error(ErrorClass::Http, "unexpected http status code: 401"),
            error(ErrorClass::Http, "unexpected http status code: 403"),
            error(ErrorClass::Http, "unexpected http status code: 404"),
            error(
                ErrorClass::Http,
                "unexpected http status code 404 Not Found from https://h/r.git/info/refs",
            ),
            error(ErrorClass::Http, "unexpected authentication failure"),
            error(ErrorClass::Ssl, "the SSL certificate is invalid"),
            error(ErrorClass::Callback, "the branch moved"),
            error(ErrorClass::Os, "could not open file"),
        ] {
            assert!(!is_transient(&permanent), "{permanent}");
        }
    }

    fn policy(clock: Arc<FakeClock>, max_wait: Duration) -> TransportRetry {
        TransportRetry {
            tries: 3,
            backoff: Duration::from_millis(100),
            budget: WaitBudget::new(max_wait, clock),
        }
    }

    #[test]
    fn a_transient_failure_is_tried_again_with_backoff_at_most_three_times() {
        let clock = FakeClock::new();
        let retry = policy(clock.clone(), Duration::from_secs(120));
        let tries = Cell::new(0);
        let result: Result<()> = retrying(Some(&retry), &mut Vec::new(), || {
            tries.set(tries.get() + 1);
            Err(anyhow::Error::new(Transient("502".into())))
        });
        assert!(result.is_err());
        assert_eq!(tries.get(), 3);
        assert_eq!(clock.slept().len(), 2);

        let tries = Cell::new(0);
        let result = retrying(Some(&retry), &mut Vec::new(), || {
            tries.set(tries.get() + 1);
            if tries.get() == 1 {
                Err(anyhow::Error::new(Transient("502".into())))
            } else {
                Ok(tries.get())
            }
        });
        assert_eq!(result.unwrap(), 2);
    }

    #[test]
    fn a_permanent_failure_or_an_empty_budget_is_not_tried_again() {
        let clock = FakeClock::new();
        let tries = Cell::new(0);
        let retry = policy(clock.clone(), Duration::from_secs(120));
        let _ = retrying::<()>(Some(&retry), &mut Vec::new(), || {
            tries.set(tries.get() + 1);
            Err(anyhow!("authentication failed"))
        });
        assert_eq!(tries.get(), 1);

        let no_time = policy(clock.clone(), Duration::ZERO);
        let _ = retrying::<()>(Some(&no_time), &mut Vec::new(), || {
            tries.set(tries.get() + 1);
            Err(anyhow::Error::new(Transient("502".into())))
        });
        assert_eq!(tries.get(), 2);
        assert!(clock.slept().is_empty());
    }
}
