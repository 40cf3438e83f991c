//! Talking to the remote: one connection that lists refs and, only when asked, fetches over the
//! same connection; and the non-forced push with a compare-and-swap on the old tip. Owns the
//! credential callback, proxy settings and the wording of transport errors. Does not decide
//! what to fetch (that is `GitCache::sync`).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;

use anyhow::{Result, anyhow};
use git2::{
    AutotagOption, Cred, CredentialType, Direction, FetchOptions, Oid, ProxyOptions, PushOptions,
    RemoteCallbacks, Repository,
};

use super::FetchProgress;
use super::location::RemoteUrl;
use crate::model::{BranchName, Secret};

/// How promoter authenticates git over HTTP(S): a user name and a token, handed to libgit2
/// through its credentials callback, never put in a URL or in the cache's config.
///
/// User names the SCMs expect with a token as password: GitHub `x-access-token`, GitLab
/// `oauth2`, Gitea/Forgejo any name (the token is checked, the name is not).
#[derive(Clone, Debug)]
pub struct GitCredentials {
    pub username: String,
    pub token: Secret,
}

/// Asked for a fresh token before every git transfer (fetch, push), e.g. a GitHub App
/// installation token that is re-minted when close to expiry. The user name stays the same.
pub type TokenRefresh = std::sync::Arc<dyn Fn() -> Result<Secret> + Send + Sync>;

/// What a fetch received, from libgit2's transfer statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FetchStats {
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
pub struct BranchMoved {
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
        let mut message = error.message().replace(url.raw(), shown);
        if let Some(credentials) = self.credentials
            && !credentials.token.expose().is_empty()
        {
            message = message.replace(credentials.token.expose(), "***");
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
pub(crate) fn list_and_fetch(
    repo: &Repository,
    url: &RemoteUrl,
    credentials: Option<&GitCredentials>,
    refspecs_for: &dyn Fn(&BTreeMap<String, Oid>) -> Vec<String>,
    mut on_progress: Option<&mut dyn FnMut(&FetchProgress)>,
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
    remote
        .fetch(&refspecs, Some(&mut options), Some("promoter: fetch"))
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
    let refused: RefCell<Option<String>> = RefCell::new(None);
    let mut callbacks = auth.callbacks();
    callbacks.push_negotiation(|updates| {
        // `src` is the remote's current tip as advertised to this push (libgit2
        // git_push_update). A different tip means someone pushed since we read it.
        let stale = updates.iter().any(|update| {
            update.dst_refname().is_ok_and(|name| name == target) && update.src() != expected_old
        });
        if stale {
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
