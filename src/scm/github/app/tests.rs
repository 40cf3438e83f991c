//! GitHub App authentication against the sandbox forge on 127.0.0.1, which checks JWTs the way
//! GitHub does with the public key of the committed test key (tests/fixtures/github-app). Time is
//! a [`FakeClock`] on the client and a pinned auth time on the forge, moved together.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::*;
use crate::git::{GitCache, GitCredentials};
use crate::model::BranchName;
use crate::scm::Scm;
use crate::scm::github::GitHub;
use crate::scm::http::tests::{FakeClock, test_options};
use sandbox::{CommitSpec, Sandbox};

const PKCS1: &str = include_str!("../../../../tests/fixtures/github-app/test-key.pem");
const PKCS8: &str = include_str!("../../../../tests/fixtures/github-app/test-key.pkcs8.pem");
const APP_ID: u64 = 4242;
const INSTALLATION: u64 = 77;
const BOT: &str = "promoter-test[bot]";
/// FakeClock's start, in epoch seconds.
const START: i64 = 1_700_000_000;

struct Forge {
    _dir: tempfile::TempDir,
    sandbox: Sandbox,
    clock: Arc<FakeClock>,
}

impl Forge {
    /// A forge with acme/deploy (one commit on environment/dev) and the test app installed on
    /// `installed_on`, its auth time pinned to the client's fake clock.
    fn start(installed_on: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sandbox = Sandbox::start(dir.path(), &sandbox::Token::new("ghp_owner_token")).unwrap();
        sandbox.create_repo("acme", "deploy").unwrap();
        sandbox
            .commit(
                "acme",
                "deploy",
                "environment/dev",
                &CommitSpec::new("dev").file("app.yaml", "v1\n"),
            )
            .unwrap();
        let public_key = AppKey::from_pem(PKCS1).unwrap().public_key_der();
        sandbox
            .add_github_app(
                APP_ID,
                "promoter-test",
                &public_key,
                &[(INSTALLATION, installed_on)],
            )
            .unwrap();
        sandbox.set_auth_time(Some(START));
        Self {
            _dir: dir,
            sandbox,
            clock: FakeClock::new(),
        }
    }

    fn tokens(&self, installation_id: Option<u64>) -> Arc<InstallationTokens> {
        Arc::new(
            InstallationTokens::new(
                &self.sandbox.api_url(),
                APP_ID,
                installation_id,
                AppKey::from_pem(PKCS1).unwrap(),
                &crate::scm::RepoPath::new("acme", "deploy"),
                test_options(self.clock.clone()),
            )
            .unwrap(),
        )
    }

    /// Moves the client's clock and the forge's auth time forward together.
    fn advance(&self, by: Duration) {
        self.clock.sleep(by);
        let now = self
            .clock
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap();
        self.sandbox.set_auth_time(Some(now.as_secs() as i64));
    }

    /// (method, path, caller) of every logged request.
    fn callers(&self) -> Vec<(String, String, Option<String>)> {
        self.sandbox
            .requests()
            .into_iter()
            .map(|r| (r.method, r.path, r.caller))
            .collect()
    }

    /// POSTs to the access-token endpoint with `jwt` and returns the status and message.
    fn mint_with(&self, jwt: &str) -> (u16, String) {
        let client = HttpClient::new(
            &self.sandbox.api_url(),
            Some(Auth::bearer(Secret::new(jwt))),
            test_options(self.clock.clone()),
        )
        .unwrap();
        let path = format!("/app/installations/{INSTALLATION}/access_tokens");
        match client.send(Method::Post, &path, None, Retry::NotBlindly) {
            Ok(answer) => (answer.status, String::new()),
            Err(error) => (
                error.status().unwrap(),
                error.message().unwrap_or_default().to_owned(),
            ),
        }
    }
}

fn b64(value: &serde_json::Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

/// A JWT with the given header and claims, signed with the test key.
fn signed(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    let key = AppKey::from_pem(PKCS1).unwrap();
    let message = format!("{}.{}", b64(header), b64(claims));
    let mut signature = vec![0; key.pair.public().modulus_len()];
    key.pair
        .sign(
            &RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            message.as_bytes(),
            &mut signature,
        )
        .unwrap();
    format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn rs256() -> serde_json::Value {
    serde_json::json!({"alg": "RS256", "typ": "JWT"})
}

#[test]
fn pkcs1_and_pkcs8_pem_files_hold_the_same_key() {
    let pkcs1 = AppKey::from_pem(PKCS1).unwrap();
    let pkcs8 = AppKey::from_pem(PKCS8).unwrap();

    assert_eq!(pkcs1.public_key_der(), pkcs8.public_key_der());
    assert_eq!(format!("{pkcs1:?}"), "AppKey(***)");
}

#[test]
fn the_jwt_is_redacted_from_any_text_as_soon_as_it_is_made() {
    let key = AppKey::from_pem(PKCS1).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(START as u64);
    let jwt = key.jwt(APP_ID, now).unwrap();
    let signature = jwt.expose().rsplit('.').next().unwrap();
    let echoed = format!("Bearer {} or a piece {}", jwt.expose(), &signature[10..30]);
    assert_eq!(crate::redact::text(&echoed), "Bearer *** or a piece ***");
}

#[test]
fn the_jwt_is_rs256_with_backdated_iat_a_nine_minute_exp_and_the_app_id_as_issuer() {
    let key = AppKey::from_pem(PKCS1).unwrap();
    let now = SystemTime::UNIX_EPOCH + Duration::from_secs(START as u64);

    let jwt = key.jwt(APP_ID, now).unwrap();

    let parts: Vec<&str> = jwt.expose().split('.').collect();
    assert_eq!(parts.len(), 3);
    let decode = |part: &str| -> serde_json::Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
    };
    assert_eq!(decode(parts[0]), rs256());
    assert_eq!(
        decode(parts[1]),
        serde_json::json!({"iat": START - 60, "exp": START + 540, "iss": "4242"})
    );
}

#[test]
fn key_errors_name_the_source_and_never_show_key_material() {
    let body_line = PKCS1.lines().nth(1).unwrap();
    let broken = PKCS1.replace(body_line, &body_line.replace('A', "!"));
    let missing_end: String = PKCS1.lines().take(5).collect::<Vec<_>>().join("\n");
    let env = |name: &str| match name {
        "BROKEN_KEY" => Some(broken.clone()),
        "CUT_KEY" => Some(missing_end.clone()),
        "NOT_A_KEY" => Some("ghp_not_a_key_at_all".to_owned()),
        _ => None,
    };

    for (source, expected) in [
        (
            PrivateKeySource::Env("UNSET_KEY".into()),
            "the GitHub App private key variable UNSET_KEY is not set",
        ),
        (
            PrivateKeySource::Env("BROKEN_KEY".into()),
            "reading the GitHub App private key from the variable BROKEN_KEY: the PEM private key's content is not valid base64",
        ),
        (
            PrivateKeySource::Env("CUT_KEY".into()),
            "has no `-----END RSA PRIVATE KEY-----` line",
        ),
        (
            PrivateKeySource::Env("NOT_A_KEY".into()),
            "the value is not a PEM private key",
        ),
        (
            PrivateKeySource::Path("/nonexistent/promoter/app.pem".into()),
            "reading the GitHub App private key file /nonexistent/promoter/app.pem",
        ),
    ] {
        let error = format!("{:#}", AppKey::load(&source, &env).unwrap_err());
        assert!(error.contains(expected), "{error}");
        for line in PKCS1.lines().skip(1).take(25) {
            assert!(!error.contains(&line[..20]), "{error}");
        }
        assert!(!error.contains("ghp_not_a_key_at_all"), "{error}");
    }
}

#[test]
fn the_installation_is_looked_up_and_its_token_is_used_for_the_api_and_git() {
    let forge = Forge::start("acme");
    let tokens = forge.tokens(None);
    let github = GitHub::with_auth(
        &forge.sandbox.api_url(),
        &crate::scm::RepoPath::new("acme", "deploy"),
        Some(tokens.auth()),
        test_options(forge.clock.clone()),
    )
    .unwrap();
    let dev = BranchName::parse("environment/dev").unwrap();
    let prod = BranchName::parse("environment/prod").unwrap();

    github.find_open_pull_request(&dev, &prod).unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let credentials = GitCredentials {
        username: "x-access-token".into(),
        token: tokens.token().unwrap(),
    };
    let (mut cache, _) = GitCache::open(
        cache_dir.path(),
        &forge.sandbox.clone_url("acme", "deploy"),
        Some(credentials),
    )
    .unwrap();
    let refresher = tokens.clone();
    cache.set_token_refresh(Arc::new(move || Ok(refresher.token()?)));
    let report = cache.sync(std::slice::from_ref(&dev)).unwrap();

    assert!(report.missing.is_empty());
    assert_eq!(tokens.installation_id(), Some(INSTALLATION));
    assert_eq!(tokens.mints(), 1);
    let log = forge.callers();
    let jwt = Some(format!("app {APP_ID} (JWT)"));
    assert_eq!(
        log[..3],
        [
            (
                "GET".into(),
                "/api/v3/repos/acme/deploy/installation".into(),
                jwt.clone()
            ),
            (
                "POST".into(),
                format!("/api/v3/app/installations/{INSTALLATION}/access_tokens"),
                jwt
            ),
            (
                "GET".into(),
                "/api/v3/repos/acme/deploy/pulls".into(),
                Some(BOT.into())
            ),
        ]
    );
    let git: Vec<_> = log.iter().filter(|(_, p, _)| p.contains(".git/")).collect();
    assert!(!git.is_empty());
    // libgit2 sends its first request without credentials and answers the 401 challenge.
    assert!(
        git.iter().any(|(_, _, c)| c.as_deref() == Some(BOT)),
        "{git:?}"
    );
    assert!(
        git.iter()
            .all(|(_, _, c)| c.is_none() || c.as_deref() == Some(BOT)),
        "{git:?}"
    );
}

#[test]
fn a_configured_installation_id_skips_the_lookup() {
    let forge = Forge::start("acme/deploy");
    let tokens = forge.tokens(Some(INSTALLATION));

    tokens.token().unwrap();

    let paths: Vec<String> = forge.callers().into_iter().map(|(_, p, _)| p).collect();
    assert_eq!(
        paths,
        [format!(
            "/api/v3/app/installations/{INSTALLATION}/access_tokens"
        )]
    );
    assert_eq!(
        forge.sandbox.requests()[0].body,
        r#"{"repositories":["deploy"]}"#
    );
}

#[test]
fn the_token_is_re_minted_when_less_than_five_minutes_remain_for_the_api_and_git() {
    let forge = Forge::start("acme");
    let tokens = forge.tokens(Some(INSTALLATION));
    let github = GitHub::with_auth(
        &forge.sandbox.api_url(),
        &crate::scm::RepoPath::new("acme", "deploy"),
        Some(tokens.auth()),
        test_options(forge.clock.clone()),
    )
    .unwrap();
    let cache_dir = tempfile::tempdir().unwrap();
    let credentials = GitCredentials {
        username: "x-access-token".into(),
        token: tokens.token().unwrap(),
    };
    let (mut cache, _) = GitCache::open(
        cache_dir.path(),
        &forge.sandbox.clone_url("acme", "deploy"),
        Some(credentials),
    )
    .unwrap();
    let refresher = tokens.clone();
    cache.set_token_refresh(Arc::new(move || Ok(refresher.token()?)));
    let dev = BranchName::parse("environment/dev").unwrap();
    let prod = BranchName::parse("environment/prod").unwrap();
    let first_expiry = tokens.expires_at().unwrap();

    // 6 minutes left: still the first token.
    forge.advance(Duration::from_secs(54 * 60));
    github.find_open_pull_request(&dev, &prod).unwrap();
    assert_eq!(tokens.mints(), 1);
    // 4 minutes left: re-minted before the request.
    forge.advance(Duration::from_secs(2 * 60));
    github.find_open_pull_request(&dev, &prod).unwrap();
    assert_eq!(tokens.mints(), 2);
    assert!(tokens.expires_at().unwrap() > first_expiry);
    // Past the first token's expiry only the new one works, for the API and for git.
    forge.advance(Duration::from_secs(5 * 60));
    github.find_open_pull_request(&dev, &prod).unwrap();
    cache.sync(std::slice::from_ref(&dev)).unwrap();

    assert_eq!(tokens.mints(), 2);
    assert_eq!(forge.sandbox.minted_tokens().len(), 2);
    let last = forge.sandbox.requests().last().cloned().unwrap();
    assert!(last.path.ends_with("/git-upload-pack") || last.path.ends_with("/info/refs"));
    assert_eq!((last.status, last.caller.as_deref()), (200, Some(BOT)));
}

#[test]
fn an_expired_token_is_refused_by_the_forge() {
    let forge = Forge::start("acme");
    forge.sandbox.set_installation_token_lifetime(60);
    let tokens = forge.tokens(Some(INSTALLATION));
    let token = tokens.token().unwrap();
    let client = |token: &Secret| {
        HttpClient::new(
            &forge.sandbox.api_url(),
            Some(Auth::bearer(token.clone())),
            test_options(forge.clock.clone()),
        )
        .unwrap()
    };

    client(&token)
        .send(Method::Get, "/repos/acme/deploy", None, Retry::Idempotent)
        .unwrap();
    forge.advance(Duration::from_secs(61));
    let error = client(&token)
        .send(Method::Get, "/repos/acme/deploy", None, Retry::Idempotent)
        .unwrap_err();

    assert_eq!(error.status(), Some(401));
}

#[test]
fn forged_expired_and_badly_timed_jwts_are_refused_like_github_does() {
    let forge = Forge::start("acme");
    let now = START;
    let good = serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": APP_ID});
    let valid = signed(&rs256(), &good);
    let mut parts: Vec<String> = valid.split('.').map(str::to_owned).collect();
    parts[1] = b64(&serde_json::json!({"iat": now - 60, "exp": now + 540, "iss": 1}));
    let forged_issuer = parts.join(".");
    parts[1] = b64(&serde_json::json!({"iat": now - 60, "exp": now + 600, "iss": APP_ID}));
    let forged_claims = parts.join(".");

    let undecodable = "A JSON web token could not be decoded";
    for (jwt, message) in [
        (forged_issuer, undecodable),
        (forged_claims, undecodable),
        (
            signed(&serde_json::json!({"alg": "HS256", "typ": "JWT"}), &good),
            undecodable,
        ),
        (
            signed(
                &rs256(),
                &serde_json::json!({"iat": now - 700, "exp": now - 100, "iss": APP_ID}),
            ),
            "'Expiration time' claim ('exp') must be a numeric value",
        ),
        (
            signed(
                &rs256(),
                &serde_json::json!({"iat": now + 120, "exp": now + 500, "iss": APP_ID}),
            ),
            "'Issued at' claim ('iat') must be an Integer",
        ),
        (
            signed(
                &rs256(),
                &serde_json::json!({"iat": now - 60, "exp": now + 900, "iss": APP_ID}),
            ),
            "'Expiration time' claim ('exp') is too far in the future",
        ),
        ("ghp_owner_token".to_owned(), undecodable),
    ] {
        let (status, text) = forge.mint_with(&jwt);
        assert_eq!(status, 401, "{text}");
        assert!(text.starts_with(message), "{text}");
    }
    assert_eq!(forge.mint_with(&valid).0, 201);
}

#[test]
fn a_refused_jwt_says_the_app_id_key_or_clock_is_wrong_and_never_shows_the_jwt() {
    let forge = Forge::start("acme");
    // The client's clock is an hour behind the forge's: every JWT it signs has expired.
    forge.sandbox.set_auth_time(Some(START + 3600));
    let tokens = forge.tokens(Some(INSTALLATION));

    let error = tokens.token().unwrap_err();

    assert_eq!(
        error.hint(),
        Some(
            "GitHub refused the app's JWT: the app id (4242) or private key is wrong, or the system clock is off"
        )
    );
    let text = format!("{:#}", anyhow::Error::new(error));
    assert!(
        text.starts_with("minting a GitHub App installation token for acme/deploy (app 4242): POST /api/v3/app/installations/77/access_tokens answered 401"),
        "{text}"
    );
    assert!(!text.contains("eyJ"), "{text}");
}

#[test]
fn an_app_not_installed_on_the_repository_gets_a_hint_saying_so() {
    let forge = Forge::start("someone-else");
    let tokens = forge.tokens(None);

    let error = tokens.token().unwrap_err();

    assert!(
        error
            .hint()
            .unwrap()
            .starts_with("the app is not installed on acme/deploy"),
        "{error:?}"
    );
    assert_eq!(forge.sandbox.minted_tokens().len(), 0);
}

#[test]
fn the_sandbox_takes_the_public_key_as_subject_public_key_info_too() {
    let pkcs1 = AppKey::from_pem(PKCS1).unwrap().public_key_der();
    // SubjectPublicKeyInfo: SEQUENCE { SEQUENCE { rsaEncryption OID, NULL }, BIT STRING { 0, key } }
    let der = |tag: u8, content: &[u8]| -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            out.extend([0x82, (len >> 8) as u8, len as u8]);
        }
        out.extend_from_slice(content);
        out
    };
    let algorithm = der(
        0x30,
        &[
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00,
        ],
    );
    let bits = der(0x03, &[&[0u8][..], &pkcs1].concat());
    let spki = der(0x30, &[algorithm, bits].concat());
    let forge = Forge::start("acme");
    forge
        .sandbox
        .add_github_app(APP_ID, "promoter-test", &spki, &[(INSTALLATION, "acme")])
        .unwrap();

    assert!(forge.tokens(Some(INSTALLATION)).token().is_ok());
    assert!(
        forge
            .sandbox
            .add_github_app(1, "x", b"not a key", &[])
            .is_err()
    );
}

#[test]
fn the_documented_access_token_answer_decodes() {
    let answer: AccessToken = serde_json::from_str(include_str!(
        "../../../../tests/fixtures/scm/github/installation-token.json"
    ))
    .unwrap();

    assert_eq!(answer.token, "ghs_16C7e42F292c6912E7710c838347Ae178B4a");
    assert_eq!(answer.expires_at, "2016-07-11T22:14:10Z");
}
