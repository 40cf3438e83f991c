//! Apps registered with the forge (dialect-free): their public keys and installations, the
//! installation tokens minted for them with an expiry, and the time the forge checks credentials
//! against (the real clock unless a test pins it). JWT parsing and the wire answers live in the
//! dialect (`github/apps.rs`).

use std::collections::BTreeMap;

use super::{Store, UserKind, now};

/// An installation token lives this long unless a test changes it (GitHub: one hour).
pub(super) const DEFAULT_TOKEN_LIFETIME: i64 = 3600;

#[derive(Debug, Clone)]
pub(crate) struct AppRecord {
    pub id: u64,
    pub slug: String,
    /// PKCS#1 `RSAPublicKey` DER.
    pub public_key: Vec<u8>,
    pub installations: Vec<InstallationRecord>,
}

impl AppRecord {
    /// The bot user the app's installation tokens act as (GitHub: `<slug>[bot]`).
    pub(crate) fn bot_login(&self) -> String {
        format!("{}[bot]", self.slug)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct InstallationRecord {
    pub id: u64,
    /// The account (user or organisation) the app is installed on.
    pub account: String,
    /// `owner/name` of the repositories it covers; `None` = all of the account's.
    pub repositories: Option<Vec<String>>,
}

impl InstallationRecord {
    pub(crate) fn covers(&self, full_name: &str) -> bool {
        let Some((owner, _)) = full_name.split_once('/') else {
            return false;
        };
        owner.eq_ignore_ascii_case(&self.account)
            && self.repositories.as_ref().is_none_or(|repos| {
                repos
                    .iter()
                    .any(|repo| repo.eq_ignore_ascii_case(full_name))
            })
    }
}

/// A minted installation token, as the forge remembers it.
#[derive(Debug, Clone)]
pub struct MintedToken {
    pub app_id: u64,
    pub installation_id: u64,
    pub expires_at: i64,
}

#[derive(Debug)]
pub(super) struct Apps {
    apps: BTreeMap<u64, AppRecord>,
    /// (token value, what it was minted for), oldest first.
    minted: Vec<(String, MintedToken)>,
    pinned_now: Option<i64>,
    token_lifetime: i64,
}

impl Default for Apps {
    fn default() -> Self {
        Self {
            apps: BTreeMap::new(),
            minted: Vec::new(),
            pinned_now: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
        }
    }
}

impl Store {
    /// Registers (or replaces) an app and its bot user.
    pub(crate) fn add_app(&mut self, app: AppRecord) {
        self.ensure_user(&app.bot_login(), UserKind::Bot);
        self.apps.apps.insert(app.id, app);
    }

    pub(crate) fn app(&self, id: u64) -> Option<&AppRecord> {
        self.apps.apps.get(&id)
    }

    /// The time credentials are checked against: pinned by a test, else the real clock.
    pub(crate) fn auth_now(&self) -> i64 {
        self.apps.pinned_now.unwrap_or_else(now)
    }

    pub(crate) fn pin_auth_now(&mut self, at: Option<i64>) {
        self.apps.pinned_now = at;
    }

    pub(crate) fn set_token_lifetime(&mut self, seconds: i64) {
        self.apps.token_lifetime = seconds;
    }

    /// Mints a token for the installation, acting as the app's bot; returns it and its expiry.
    pub(crate) fn mint_installation_token(
        &mut self,
        app_id: u64,
        installation_id: u64,
    ) -> (String, i64) {
        let token = format!(
            "ghs_{}",
            (0..36)
                .map(|_| fastrand::alphanumeric())
                .collect::<String>()
        );
        let expires_at = self.auth_now() + self.apps.token_lifetime;
        let login = self
            .app(app_id)
            .map(AppRecord::bot_login)
            .unwrap_or_default();
        self.add_token(&login, UserKind::Bot, &token);
        self.apps.minted.push((
            token.clone(),
            MintedToken {
                app_id,
                installation_id,
                expires_at,
            },
        ));
        (token, expires_at)
    }

    /// Every installation token minted so far, oldest first (values not included).
    pub(crate) fn minted_tokens(&self) -> Vec<MintedToken> {
        self.apps.minted.iter().map(|(_, m)| m.clone()).collect()
    }

    /// Whether `token` is a minted installation token past its expiry.
    pub(super) fn token_expired(&self, token: &str) -> bool {
        self.minted(token)
            .is_some_and(|minted| minted.expires_at <= self.auth_now())
    }

    fn minted(&self, token: &str) -> Option<&MintedToken> {
        self.apps
            .minted
            .iter()
            .find(|(value, _)| value == token)
            .map(|(_, minted)| minted)
    }
}
