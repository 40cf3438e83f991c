//! git's smart HTTP protocol over ureq and rustls, registered with libgit2 for `http://` and
//! `https://` in place of its built-in transport (which would need OpenSSL). So git and the SCM
//! API share one TLS stack, one trust store ([`crate::tls::Trust`]) and one proxy setting
//! (`HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY`, `NO_PROXY`, as ureq reads them).
//!
//! libgit2 keeps the protocol (ref advertisement, negotiation, packs, side-band progress, push
//! reports); this file only moves bytes: `GET <url>/info/refs?service=<service>` for the
//! advertisement, then one `POST <url>/<service>` per request libgit2 writes (stateless RPC, as in
//! git's Documentation/gitprotocol-http.txt). The token goes out as basic auth on every request,
//! from the [`Session`] of the transfer; libgit2's credential callback is not involved.
//! Owns the wording of HTTP-level failures; [`super::transport`] adds what was being done.

use std::cell::RefCell;
use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use base64::Engine as _;
use git2::transport::{Service, SmartSubtransport, SmartSubtransportStream, Transport};
use git2::{ErrorClass, ErrorCode};
use ureq::http::{HeaderValue, Request, Response};
use ureq::{RequestExt as _, ResponseExt as _};

use super::transport::GitCredentials;
use crate::tls::{CERTIFICATE_HINT, Trust, certificate_problem};

/// How long to wait for a TCP and TLS connection; transfers themselves have no deadline (a
/// large pack takes what it takes).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How much of an error answer's body a message shows.
const EXCERPT_BYTES: usize = 200;

thread_local! {
    /// The session of the transfer running on this thread. libgit2 creates and drives the
    /// transport synchronously on the thread that called fetch or push.
    static CURRENT: RefCell<Option<SessionState>> = const { RefCell::new(None) };
}

#[derive(Clone)]
struct SessionState {
    credentials: Option<GitCredentials>,
    trust: Arc<Trust>,
}

/// What the transports created on this thread use until it is dropped: the credentials of one
/// transfer and the run's trust store.
#[must_use = "the session ends when dropped"]
pub(super) struct Session(());

impl Session {
    pub(super) fn begin(credentials: Option<&GitCredentials>, trust: &Arc<Trust>) -> Self {
        register();
        CURRENT.with(|current| {
            *current.borrow_mut() = Some(SessionState {
                credentials: credentials.cloned(),
                trust: Arc::clone(trust),
            });
        });
        Session(())
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

/// Registers the transport once per process, before the first transport is created.
#[allow(unsafe_code)]
fn register() {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        for scheme in ["http", "https"] {
            // SAFETY: `git2::transport::register` must not race with libgit2 looking up or
            // creating transports. Every transfer of promoter starts with `Session::begin`,
            // which runs this first; `Once` makes other threads wait until registration is
            // complete, and nothing else in promoter creates git transports.
            let registered = unsafe {
                git2::transport::register(scheme, |remote| {
                    Transport::smart(remote, true, HttpSubtransport::from_session())
                })
            };
            if let Err(error) = registered {
                // Only a second registration of the same scheme fails, which `Once` prevents.
                panic!("registering the {scheme} git transport: {error}");
            }
        }
    });
}

struct HttpSubtransport {
    state: SessionState,
    /// The repository URL after the advertisement's redirects (GitHub answers a renamed
    /// repository with 301); the POSTs go there.
    redirected: Arc<Mutex<Option<String>>>,
    /// Made on the first action and kept, so the ref listing and the POSTs that follow share
    /// ureq's connection pool (one TCP and TLS handshake per transfer, not one per request).
    client: Mutex<Option<Arc<Client>>>,
}

impl HttpSubtransport {
    fn from_session() -> Self {
        let state = CURRENT
            .with(|current| current.borrow().clone())
            .unwrap_or_else(|| SessionState {
                credentials: None,
                trust: Trust::new(None),
            });
        Self {
            state,
            redirected: Arc::new(Mutex::new(None)),
            client: Mutex::new(None),
        }
    }

    fn client(&self, url: &str) -> Result<Arc<Client>, git2::Error> {
        let mut client = self.client.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(client) = client.as_ref() {
            return Ok(Arc::clone(client));
        }
        let made = Arc::new(self.new_client(url)?);
        *client = Some(Arc::clone(&made));
        Ok(made)
    }

    fn new_client(&self, url: &str) -> Result<Client, git2::Error> {
        let tls = self.state.trust.tls_config_for(url).map_err(|message| {
            git2::Error::new(ErrorCode::Certificate, ErrorClass::Ssl, message)
        })?;
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // Servers tell git clients apart by this prefix (git's http.c sends "git/<version>").
            .user_agent(format!("git/2.0 (promoter/{})", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(CONNECT_TIMEOUT))
            // ureq writes a request's head and its body in separate writes; with Nagle's algorithm
            // the body would wait for the server's delayed ACK (~40 ms per upload-pack round
            // trip). ureq's default is already `true` (ureq::config::Config::no_delay, set as
            // TCP_NODELAY on connect in transport/tcp.rs); said here so it stays so.
            .no_delay(true)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .tls_config(tls)
            .build();
        let authorization = self.state.credentials.as_ref().map(|credentials| {
            // No user name: the token goes as `Authorization: Bearer` (Bitbucket Data Center's
            // project and repository HTTP access tokens work over git only so,
            // https://confluence.atlassian.com/bitbucketserver091/http-access-tokens-1443038354.html).
            // Either form is registered for redaction (a server may echo what it expected).
            crate::redact::register_basic_auth(&credentials.username, credentials.token.expose());
            if credentials.username.is_empty() {
                let mut value =
                    HeaderValue::try_from(format!("Bearer {}", credentials.token.expose()))
                        // A token with characters a header cannot hold is sent as no token: the
                        // server's 401 then says authentication failed, with its hint.
                        .unwrap_or_else(|_| HeaderValue::from_static("Bearer"));
                value.set_sensitive(true);
                return value;
            }
            // Sent as `Basic base64(user:token)`: that form must never be shown either.
            let pair = format!("{}:{}", credentials.username, credentials.token.expose());
            let encoded = base64::engine::general_purpose::STANDARD.encode(pair);
            let mut value = HeaderValue::try_from(format!("Basic {encoded}"))
                .expect("base64 is always a valid header value");
            value.set_sensitive(true);
            value
        });
        Ok(Client {
            agent: ureq::Agent::new_with_config(config),
            authorization,
            has_token: self.state.credentials.is_some(),
        })
    }

    fn base(&self, url: &str) -> String {
        let redirected = self.redirected.lock().unwrap_or_else(|e| e.into_inner());
        redirected
            .clone()
            .unwrap_or_else(|| url.trim_end_matches('/').to_owned())
    }
}

impl SmartSubtransport for HttpSubtransport {
    fn action(
        &self,
        url: &str,
        action: Service,
    ) -> Result<Box<dyn SmartSubtransportStream>, git2::Error> {
        let service = match action {
            Service::UploadPackLs | Service::UploadPack => "git-upload-pack",
            Service::ReceivePackLs | Service::ReceivePack => "git-receive-pack",
        };
        let client = self.client(url)?;
        match action {
            Service::UploadPackLs | Service::ReceivePackLs => {
                let base = url.trim_end_matches('/');
                let target = format!("{base}/info/refs?service={service}");
                let response = client
                    .get(&target, service)
                    .map_err(|failure| failure.into_git_error())?;
                let final_uri = response.get_uri().to_string();
                if let Some(moved) =
                    final_uri.strip_suffix(&format!("/info/refs?service={service}"))
                    && moved != base
                {
                    *self.redirected.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(moved.to_owned());
                }
                Ok(Box::new(Reply {
                    body: Box::new(response.into_body().into_reader()),
                }))
            }
            Service::UploadPack | Service::ReceivePack => Ok(Box::new(Rpc {
                client,
                url: format!("{}/{service}", self.base(url)),
                service,
                request: Vec::new(),
                reply: None,
            })),
        }
    }

    fn close(&self) -> Result<(), git2::Error> {
        Ok(())
    }
}

struct Client {
    agent: ureq::Agent,
    authorization: Option<HeaderValue>,
    has_token: bool,
}

/// Why a request got no usable answer; becomes a libgit2 error (from `action`) or an I/O error
/// (from a stream read), with the same words.
struct Failure {
    code: ErrorCode,
    class: ErrorClass,
    message: String,
}

impl Failure {
    fn into_git_error(self) -> git2::Error {
        git2::Error::new(self.code, self.class, self.message)
    }

    fn into_io_error(self) -> io::Error {
        io::Error::other(self.message)
    }
}

impl Client {
    fn get(&self, url: &str, service: &str) -> Result<Response<ureq::Body>, Failure> {
        let mut request = Request::get(url).header("accept", "*/*");
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value.clone());
        }
        let request = request.body(()).map_err(|e| setup_failure(&e))?;
        let response = self
            .agent
            .run(request)
            .map_err(|e| transport_failure(&e, url))?;
        self.accept(
            response,
            url,
            &format!("application/x-{service}-advertisement"),
        )
    }

    fn post(
        &self,
        url: &str,
        service: &str,
        body: Vec<u8>,
    ) -> Result<Response<ureq::Body>, Failure> {
        let mut request = Request::post(url)
            .header("content-type", format!("application/x-{service}-request"))
            .header("accept", format!("application/x-{service}-result"));
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value.clone());
        }
        let request = request.body(body).map_err(|e| setup_failure(&e))?;
        // A redirected POST could silently become a GET; git does not follow them either.
        let response = request
            .with_agent(&self.agent)
            .configure()
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .run()
            .map_err(|e| transport_failure(&e, url))?;
        self.accept(response, url, &format!("application/x-{service}-result"))
    }

    /// A 200 with git's content type, or the failure the status means.
    fn accept(
        &self,
        response: Response<ureq::Body>,
        url: &str,
        content_type: &str,
    ) -> Result<Response<ureq::Body>, Failure> {
        let status = response.status();
        let shown = without_query(url);
        if status == 401 {
            // Without a token: "no token is configured"; with one: it was refused.
            // `super::transport` words both from the code.
            let message = if self.has_token {
                format!("{shown} refused the credentials (401)")
            } else {
                format!("{shown} asked for credentials (401)")
            };
            return Err(Failure {
                code: ErrorCode::Auth,
                class: ErrorClass::Http,
                message,
            });
        }
        if !status.is_success() {
            let excerpt = excerpt(response);
            return Err(Failure {
                code: ErrorCode::GenericError,
                class: ErrorClass::Http,
                message: format!("unexpected http status code {status} from {shown}{excerpt}"),
            });
        }
        let received = response
            .headers()
            .get("content-type")
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        // The media type only: a `; charset=…` parameter changes nothing for binary pkt-lines.
        let media_type = received.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case(content_type) {
            return Err(Failure {
                code: ErrorCode::GenericError,
                class: ErrorClass::Http,
                message: format!(
                    "{shown} did not answer as a git smart HTTP server \
                     (content type `{received}`, expected `{content_type}`); \
                     check that the URL names a repository"
                ),
            });
        }
        Ok(response)
    }
}

fn setup_failure(error: &ureq::http::Error) -> Failure {
    Failure {
        code: ErrorCode::GenericError,
        class: ErrorClass::Http,
        message: format!("building the request: {error}"),
    }
}

fn transport_failure(error: &ureq::Error, url: &str) -> Failure {
    let host = url
        .parse::<ureq::http::Uri>()
        .ok()
        .and_then(|uri| uri.authority().map(|a| a.to_string()))
        .unwrap_or_default();
    match certificate_problem(error, &host) {
        Some(problem) => Failure {
            code: ErrorCode::Certificate,
            class: ErrorClass::Ssl,
            message: format!("{problem}\nhint: {CERTIFICATE_HINT}"),
        },
        // ureq's messages name hosts and timeouts, never header values.
        None => Failure {
            code: ErrorCode::GenericError,
            class: ErrorClass::Net,
            message: format!("{} failed: {error}", without_query(url)),
        },
    }
}

fn without_query(url: &str) -> &str {
    url.split_once('?').map_or(url, |(path, _)| path)
}

/// `": <start of the body>"` for an error answer, when it has a body.
fn excerpt(response: Response<ureq::Body>) -> String {
    let mut body = Vec::new();
    let _ = response
        .into_body()
        .into_reader()
        .take(EXCERPT_BYTES as u64)
        .read_to_end(&mut body);
    let text = String::from_utf8_lossy(&body);
    let text = text.trim();
    if text.is_empty() {
        String::new()
    } else {
        format!(": {text}")
    }
}

/// The ref advertisement: read only.
struct Reply {
    body: Box<dyn Read + Send>,
}

impl Read for Reply {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.body.read(buf)
    }
}

impl Write for Reply {
    fn write(&mut self, _data: &[u8]) -> io::Result<usize> {
        Err(io::Error::other(
            "the ref advertisement takes no request body",
        ))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One stateless RPC: libgit2 writes the whole request, then reads the answer; the POST is sent
/// on the first read.
struct Rpc {
    client: Arc<Client>,
    url: String,
    service: &'static str,
    request: Vec<u8>,
    reply: Option<Box<dyn Read + Send>>,
}

impl Read for Rpc {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.reply.is_none() {
            let body = std::mem::take(&mut self.request);
            let response = self
                .client
                .post(&self.url, self.service, body)
                .map_err(Failure::into_io_error)?;
            self.reply = Some(Box::new(response.into_body().into_reader()));
        }
        match self.reply.as_mut() {
            Some(reply) => reply.read(buf),
            None => Ok(0),
        }
    }
}

impl Write for Rpc {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.reply.is_some() {
            return Err(io::Error::other("the request was already sent"));
        }
        self.request.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
