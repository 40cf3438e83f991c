//! The test API for GitHub Apps on the sandbox: registering an app with its public key and
//! installations, pinning the time credentials are checked against, token lifetimes, and the list
//! of minted installation tokens. The JWT check and the wire answers are in `github/apps.rs`.

use anyhow::{Result, bail};

use super::Sandbox;
use super::server::lock;
use super::store::{AppRecord, InstallationRecord};

pub use super::store::MintedToken;

impl Sandbox {
    /// Registers GitHub App `app_id` (bot user `<slug>[bot]`) with its RSA public key — PKCS#1
    /// `RSAPublicKey` DER or X.509 `SubjectPublicKeyInfo` DER — and its installations:
    /// `(installation id, "owner")` covers every repository of the account,
    /// `(installation id, "owner/name")` only that one.
    pub fn add_github_app(
        &self,
        app_id: u64,
        slug: &str,
        public_key: &[u8],
        installations: &[(u64, &str)],
    ) -> Result<()> {
        let Some(public_key) = super::github::pkcs1_public_key(public_key) else {
            bail!("the public key of app {app_id} is neither PKCS#1 nor SubjectPublicKeyInfo DER");
        };
        let installations = installations
            .iter()
            .map(|&(id, target)| match target.split_once('/') {
                Some((owner, _)) => InstallationRecord {
                    id,
                    account: owner.to_owned(),
                    repositories: Some(vec![target.to_owned()]),
                },
                None => InstallationRecord {
                    id,
                    account: target.to_owned(),
                    repositories: None,
                },
            })
            .collect();
        lock(&self.shared.store).add_app(AppRecord {
            id: app_id,
            slug: slug.to_owned(),
            public_key,
            installations,
        });
        Ok(())
    }

    /// Pins the time (epoch seconds) the forge checks JWTs and installation-token expiry
    /// against, so tests can move time without sleeping; `None` goes back to the real clock.
    pub fn set_auth_time(&self, at: Option<i64>) {
        lock(&self.shared.store).pin_auth_now(at);
    }

    /// How long installation tokens minted from now on live (GitHub: 3600 s).
    pub fn set_installation_token_lifetime(&self, seconds: i64) {
        lock(&self.shared.store).set_token_lifetime(seconds);
    }

    /// Every installation token minted so far, oldest first (without the token values).
    pub fn minted_tokens(&self) -> Vec<MintedToken> {
        lock(&self.shared.store).minted_tokens()
    }
}
