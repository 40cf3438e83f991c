//! Authenticating as a GitHub App: reading the App's PEM private key, signing the RS256 JWT, finding
//! the installation for the repository and minting (then refreshing) its installation token. The
//! token reaches the REST client as an [`Auth`] built from
//! [`InstallationTokens`] and git through the same value. Does not talk to the repository itself.
//!
//! Flow (docs "Generating a JSON Web Token (JWT) for a GitHub App", "Generating an installation
//! access token for a GitHub App"): JWT → `GET /repos/{owner}/{repo}/installation` (only when
//! `installationId` is not configured) → `POST /app/installations/{id}/access_tokens` → a `ghs_…`
//! token valid for one hour. The same paths sit under a GitHub Enterprise Server `…/api/v3` root.
//!
//! Decisions where docs/design.md is silent:
//! - The JWT's `iss` is the numeric App ID (the config names `appId`; GitHub accepts it as well as
//!   the Client ID). `iat` is backdated 60 s and `exp` is 9 minutes ahead, so the JWT spans exactly
//!   the 10 minutes GitHub allows.
//! - The installation token is scoped to the one repository promoter manages (`repositories:
//!   [name]`), with the installation's permissions (no down-scoping of permissions: a missing
//!   permission then shows as GitHub's own 403 on the call that needs it).
//! - A token is re-minted when less than 5 minutes of its life remain, checked before every API
//!   request and every git transfer, on the client's injectable clock.
//! - Key errors name the variable or the file and what was wrong with it, never any key material.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use anyhow::{Context, bail};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::rsa::KeyPair;
use ring::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use serde::Deserialize;

use crate::ci_env::{Env, var};
use crate::config::PrivateKeySource;
use crate::model::Secret;
use crate::scm::RepoPath;
use crate::scm::http::TokenSource;
use crate::scm::http::{Auth, Clock, HintFn, HttpClient, HttpError, HttpOptions, Method, Retry};

/// How far `iat` is backdated, for clocks running a little ahead of GitHub's (docs: "set this 60
/// seconds in the past").
pub(crate) const JWT_BACKDATE: Duration = Duration::from_secs(60);
/// How far ahead `exp` is; GitHub refuses an `exp` more than 10 minutes in the future.
pub(crate) const JWT_AHEAD: Duration = Duration::from_secs(9 * 60);
/// An installation token with less life left than this is replaced before use.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// A GitHub App's RSA private key. Its Debug output never shows the key.
pub struct AppKey {
    pair: KeyPair,
}

impl fmt::Debug for AppKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AppKey(***)")
    }
}

impl AppKey {
    /// Reads a PEM key: PKCS#1 (`BEGIN RSA PRIVATE KEY`, what GitHub's "Generate a private key"
    /// downloads) or PKCS#8 (`BEGIN PRIVATE KEY`). Errors describe the problem, never the content.
    pub fn from_pem(pem: &str) -> anyhow::Result<Self> {
        let (label, der) = pem_block(pem)?;
        let pair = match label.as_str() {
            "RSA PRIVATE KEY" => KeyPair::from_der(&der)
                .map_err(|e| anyhow::anyhow!("the PKCS#1 RSA private key is not usable: {e}"))?,
            "PRIVATE KEY" => KeyPair::from_pkcs8(&der).map_err(|e| {
                anyhow::anyhow!("the PKCS#8 private key is not a usable RSA key: {e}")
            })?,
            "ENCRYPTED PRIVATE KEY" => {
                bail!("the private key is encrypted; promoter needs the key as GitHub issues it")
            }
            other => bail!("the PEM block is a `{other}`, not `RSA PRIVATE KEY` or `PRIVATE KEY`"),
        };
        Ok(Self { pair })
    }

    /// Reads the key named by `scm.githubApp` (`privateKeyEnv` or `privateKeyPath`, the latter
    /// already resolved against the config file's directory).
    pub fn load(source: &PrivateKeySource, env: Env<'_>) -> anyhow::Result<Self> {
        match source {
            PrivateKeySource::Env(name) => {
                let Some(pem) = var(env, name) else {
                    bail!(
                        "the GitHub App private key variable {name} is not set or empty\n\
                         hint: put the app's PEM private key in {name} (scm.githubApp.privateKeyEnv)"
                    );
                };
                Self::from_pem(&pem).with_context(|| {
                    format!("reading the GitHub App private key from the variable {name}")
                })
            }
            PrivateKeySource::Path(path) => {
                let pem = std::fs::read_to_string(path).with_context(|| {
                    format!(
                        "reading the GitHub App private key file {} (privateKeyPath is relative to the config file)",
                        path.display()
                    )
                })?;
                Self::from_pem(&pem).with_context(|| {
                    format!("reading the GitHub App private key file {}", path.display())
                })
            }
        }
    }

    /// The public key as PKCS#1 `RSAPublicKey` DER, for registering the app with the sandbox.
    pub fn public_key_der(&self) -> Vec<u8> {
        self.pair.public_key().as_ref().to_vec()
    }

    /// Signs a JWT for `app_id` at `now`: RS256 (RSASSA-PKCS1-v1_5 with SHA-256), claims `iat` =
    /// now − 60 s, `exp` = now + 9 min, `iss` = the App ID.
    pub fn jwt(&self, app_id: u64, now: SystemTime) -> Result<Secret, HttpError> {
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = serde_json::json!({
            "iat": now - JWT_BACKDATE.as_secs(),
            "exp": now + JWT_AHEAD.as_secs(),
            "iss": app_id.to_string(),
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{header}.{claims}");
        let mut signature = vec![0; self.pair.public().modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                HttpError::Setup(format!("signing the JWT of GitHub App {app_id} failed"))
            })?;
        Ok(Secret::new(format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }
}

/// The label and decoded content of the first PEM block in `pem`.
fn pem_block(pem: &str) -> anyhow::Result<(String, Vec<u8>)> {
    let mut lines = pem.lines().map(str::trim).skip_while(|l| l.is_empty());
    let Some(label) = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN "))
        .and_then(|l| l.strip_suffix("-----"))
    else {
        bail!("the value is not a PEM private key (no `-----BEGIN … PRIVATE KEY-----` line first)");
    };
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        // PKCS#1 PEM may carry `Proc-Type`/`DEK-Info` headers (encrypted keys).
        if line.contains(':') {
            bail!("the private key is encrypted; promoter needs the key as GitHub issues it");
        }
        body.push_str(line);
    }
    if !ended {
        bail!("the PEM private key has no `{end}` line; was it cut off?");
    }
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| anyhow::anyhow!("the PEM private key's content is not valid base64"))?;
    Ok((label.to_owned(), der))
}

/// A fresh JWT per request, signed on the client's clock.
#[derive(Debug)]
struct AppJwt {
    key: Arc<AppKey>,
    app_id: u64,
    clock: Arc<dyn Clock>,
}

impl TokenSource for AppJwt {
    fn token(&self) -> Result<Secret, HttpError> {
        self.key.jwt(self.app_id, self.clock.now())
    }
}

#[derive(Debug, Deserialize)]
struct Installation {
    id: u64,
}

/// `apps/create-installation-access-token` answer (fixture `installation-token.json`).
#[derive(Deserialize)]
struct AccessToken {
    token: String,
    expires_at: String,
}

#[derive(Clone)]
struct Minted {
    token: Secret,
    expires_at: SystemTime,
}

/// The installation token of one app for one repository: minted on first use, then re-minted
/// whenever less than [`REFRESH_MARGIN`] of its life remains. Shared by the REST client
/// ([`InstallationTokens::auth`]) and git ([`InstallationTokens::token`] before each transfer).
pub(crate) struct InstallationTokens {
    /// Speaks to `/app/...` and `/repos/.../installation` with a JWT.
    app: HttpClient,
    app_id: u64,
    repo: RepoPath,
    installation: Mutex<Option<u64>>,
    current: Mutex<Option<Minted>>,
    clock: Arc<dyn Clock>,
    mints: Mutex<u32>,
}

impl fmt::Debug for InstallationTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InstallationTokens")
            .field("app_id", &self.app_id)
            .field("repository", &self.repo.full_name())
            .finish_non_exhaustive()
    }
}

impl InstallationTokens {
    /// `api_url` is the REST root (`https://api.github.com` or `https://HOST/api/v3`);
    /// `options` are the run's (their clock decides JWT times and refreshes).
    pub(crate) fn new(
        api_url: &str,
        app_id: u64,
        installation_id: Option<u64>,
        key: AppKey,
        repo: &RepoPath,
        options: HttpOptions,
    ) -> anyhow::Result<Self> {
        let clock = options.clock.clone();
        let jwt = AppJwt {
            key: Arc::new(key),
            app_id,
            clock: clock.clone(),
        };
        let app = HttpClient::new(api_url, Some(Auth::bearer_from(Arc::new(jwt))), options)
            .with_context(|| format!("setting up the GitHub App client for {api_url}"))?
            .with_header("accept", "application/vnd.github+json")
            .with_header("x-github-api-version", "2022-11-28")
            .with_hint(app_hints(app_id, repo));
        Ok(Self {
            app,
            app_id,
            repo: repo.clone(),
            installation: Mutex::new(installation_id),
            current: Mutex::new(None),
            clock,
            mints: Mutex::new(0),
        })
    }

    /// How many installation tokens this value has minted.
    #[cfg(test)]
    pub(crate) fn mints(&self) -> u32 {
        *self.mints.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// When the current token expires, once one was minted.
    #[cfg(test)]
    pub(crate) fn expires_at(&self) -> Option<SystemTime> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|m| m.expires_at)
    }

    /// The installation id, once known (configured, or looked up by the first mint).
    pub(crate) fn installation_id(&self) -> Option<u64> {
        *self.installation.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// What git and the REST client send: `Authorization: Bearer <installation token>`.
    pub(crate) fn auth(self: &Arc<Self>) -> Auth {
        Auth::bearer_from(self.clone())
    }

    fn doing(&self) -> String {
        format!(
            "minting a GitHub App installation token for {} (app {})",
            self.repo, self.app_id
        )
    }

    fn mint(&self) -> Result<Minted, HttpError> {
        let installation = self.installation_id();
        let id = match installation {
            Some(id) => id,
            None => {
                // Docs apps/get-repository-installation: the installation holding the
                // repository, asked with the JWT; 404 when the app is not installed there.
                let path = format!("/repos/{}/installation", self.repo.encoded_segments());
                let found: Installation = self.app.get_json(&path)?;
                *self.installation.lock().unwrap_or_else(|e| e.into_inner()) = Some(found.id);
                found.id
            }
        };
        // Docs apps/create-installation-access-token: 201 with `token` and `expires_at` (one hour);
        // `repositories` scopes the token to the named repositories of the installation.
        let path = format!("/app/installations/{id}/access_tokens");
        let body = serde_json::json!({ "repositories": [self.repo.name()] });
        // Minting twice only leaves an unused token behind, so a retry is harmless.
        let answer = self
            .app
            .send(Method::Post, &path, Some(&body), Retry::Idempotent)?;
        let shown = format!("/app/installations/{id}/access_tokens");
        let decoded: AccessToken =
            serde_json::from_str(&answer.body).map_err(|e| HttpError::Decode {
                method: Method::Post,
                path: shown.clone(),
                detail: e.to_string(),
            })?;
        let expires_at = time::OffsetDateTime::parse(
            &decoded.expires_at,
            &time::format_description::well_known::Rfc3339,
        )
        .map_err(|e| HttpError::Decode {
            method: Method::Post,
            path: shown.clone(),
            detail: format!("`expires_at` is not an RFC 3339 time: {e}"),
        })?;
        if decoded.token.trim().is_empty() {
            // Docs: token formats change (stateless `ghs_APPID_JWT` tokens); only emptiness is wrong.
            return Err(HttpError::Decode {
                method: Method::Post,
                path: shown,
                detail: "the installation token is empty".to_owned(),
            });
        }
        *self.mints.lock().unwrap_or_else(|e| e.into_inner()) += 1;
        Ok(Minted {
            token: Secret::new(decoded.token),
            expires_at: SystemTime::from(expires_at),
        })
    }
}

impl TokenSource for InstallationTokens {
    /// The current installation token, minted anew when it is missing or expires within
    /// [`REFRESH_MARGIN`] on the client's clock.
    fn token(&self) -> Result<Secret, HttpError> {
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.clock.now();
        if let Some(minted) = current.as_ref()
            && minted
                .expires_at
                .duration_since(now)
                .is_ok_and(|left| left > REFRESH_MARGIN)
        {
            return Ok(minted.token.clone());
        }
        let minted = self.mint().map_err(|source| HttpError::Credentials {
            doing: self.doing(),
            source: Box::new(source),
        })?;
        let token = minted.token.clone();
        *current = Some(minted);
        Ok(token)
    }
}

/// Advice under errors of the App endpoints.
fn app_hints(app_id: u64, repo: &RepoPath) -> HintFn {
    let full_name = repo.full_name();
    Arc::new(move |status, _message| match status {
        // GitHub answers 401 to a JWT it cannot verify or whose times are off.
        401 => Some(format!(
            "GitHub refused the app's JWT: the app id ({app_id}) or private key is wrong, or the system clock is off"
        )),
        403 => Some(format!(
            "GitHub App {app_id} may not create tokens for {full_name}; check the app's permissions and that the installation is not suspended"
        )),
        404 => Some(format!(
            "the app is not installed on {full_name} (or scm.githubApp.installationId or scm.apiUrl is wrong); install GitHub App {app_id} on the repository"
        )),
        422 => Some(format!(
            "the installation does not include {full_name}; add the repository to GitHub App {app_id}'s installation"
        )),
        _ => None,
    })
}

#[cfg(test)]
mod tests;
