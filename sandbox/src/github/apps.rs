//! GitHub App authentication in the GitHub dialect: the JWT check GitHub makes (RS256 signature
//! with the app's public key, `iss`, `iat`, `exp`), `GET /repos/{owner}/{repo}/installation` and
//! `POST /app/installations/{id}/access_tokens`. Installation tokens, once minted, are ordinary
//! store tokens of the app's bot user (with an expiry), so every other route and git smart HTTP
//! accept them unchanged. The app registry itself is in `store/apps.rs`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use serde_json::{Value, json};

use super::super::server::{Incoming, Reply, Shared, decode, lock};
use super::{API_PREFIX, error, timestamp_of};

/// GitHub refuses an `exp` more than this after `iat`, and (as here) more than this ahead of now.
const MAX_JWT_LIFE: i64 = 600;
/// Clock drift allowed on `iat`.
const IAT_LEEWAY: i64 = 60;

const UNDECODABLE: &str = "A JSON web token could not be decoded";
const EXP_PAST: &str = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
const EXP_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
const IAT_BAD: &str = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued";

/// Whether an `Authorization` value holds a JWT rather than a token (three base64url parts).
pub(crate) fn is_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.split('.').count() == 3
}

/// The `iss` a JWT claims, unverified — only for naming the caller in the request log.
pub(crate) fn claimed_issuer(token: &str) -> Option<String> {
    let claims = token.split('.').nth(1)?;
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(claims).ok()?).ok()?;
    match claims.get("iss")? {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

/// Answers the App routes, or `None` for any other path.
pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Option<Reply> {
    let rest = incoming.path.strip_prefix(API_PREFIX)?;
    let segments: Vec<String> = rest
        .split('/')
        .filter(|s| !s.is_empty())
        .map(decode)
        .collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    let method = incoming.method.as_str();
    match (method, segments.as_slice()) {
        ("GET", ["repos", owner, repo, "installation"]) => {
            Some(verified_app(shared, incoming).map_or_else(
                |reply| *reply,
                |app| repo_installation(shared, app, owner, repo),
            ))
        }
        ("POST", ["app", "installations", id, "access_tokens"]) => {
            Some(verified_app(shared, incoming).map_or_else(
                |reply| *reply,
                |app| access_token(shared, incoming, app, id),
            ))
        }
        _ => None,
    }
}

/// Docs apps/get-repository-installation: the installation covering the repository, 404 when the
/// app is not installed there.
fn repo_installation(shared: &Shared, app_id: u64, owner: &str, repo: &str) -> Reply {
    let store = lock(&shared.store);
    let full_name = format!("{owner}/{repo}");
    let found = store
        .app(app_id)
        .and_then(|app| app.installations.iter().find(|i| i.covers(&full_name)));
    match found {
        Some(installation) if store.repo(&full_name).is_ok() => Reply::json(
            200,
            &json!({
                "id": installation.id,
                "app_id": app_id,
                "account": { "login": installation.account },
                "repository_selection": if installation.repositories.is_some() { "selected" } else { "all" },
                "access_tokens_url": format!("{}/app/installations/{}/access_tokens", shared.api_url(), installation.id),
                "target_type": "Organization",
            }),
        ),
        _ => error(404, "Not Found"),
    }
}

/// Docs apps/create-installation-access-token: 201 with a `ghs_` token valid for an hour; 404 for
/// another app's or an unknown installation; 422 when `repositories` names one it does not cover.
fn access_token(shared: &Shared, incoming: &Incoming, app_id: u64, id: &str) -> Reply {
    let mut store = lock(&shared.store);
    let Some(installation) = id.parse::<u64>().ok().and_then(|id| {
        store
            .app(app_id)
            .and_then(|app| app.installations.iter().find(|i| i.id == id).cloned())
    }) else {
        return error(404, "Not Found");
    };
    let body: Value = if incoming.body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&incoming.body) {
            Ok(body) => body,
            Err(_) => return error(400, "Problems parsing JSON"),
        }
    };
    let names: Vec<String> = body
        .get("repositories")
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    for name in &names {
        let full_name = format!("{}/{name}", installation.account);
        if !installation.covers(&full_name) || store.repo(&full_name).is_err() {
            return error(
                422,
                "There is at least one repository that does not exist or is not accessible to the parent installation.",
            );
        }
    }
    let (token, expires_at) = store.mint_installation_token(app_id, installation.id);
    Reply::json(
        201,
        &json!({
            "token": token,
            "expires_at": timestamp_of(expires_at),
            "permissions": {
                "contents": "write",
                "pull_requests": "write",
                "statuses": "write",
                "checks": "read",
                "metadata": "read",
            },
            "repository_selection": if names.is_empty() && installation.repositories.is_none() { "all" } else { "selected" },
        }),
    )
}

/// The app a request's JWT proves, checked as GitHub does, or the 401 to answer.
fn verified_app(shared: &Shared, incoming: &Incoming) -> Result<u64, Box<Reply>> {
    let refuse = |message: &str| Box::new(error(401, message));
    let Some(jwt) = incoming
        .header("authorization")
        .and_then(|value| value.trim().strip_prefix("Bearer "))
        .map(str::trim)
    else {
        // Docs: these endpoints need a JWT; a token or nothing gets 401.
        return Err(refuse(
            "You must authenticate with a JSON web token (JWT) to access this endpoint.",
        ));
    };
    let parts: Vec<&str> = jwt.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(refuse(UNDECODABLE));
    };
    let decode_json = |part: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header_json), Some(claims_json), Ok(signature)) = (
        decode_json(header),
        decode_json(claims),
        URL_SAFE_NO_PAD.decode(signature),
    ) else {
        return Err(refuse(UNDECODABLE));
    };
    // GitHub Apps sign with RS256 only ("Generating a JWT": "the algorithm must be RS256").
    if header_json.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(refuse(UNDECODABLE));
    }
    let app_id = match claims_json.get("iss") {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.parse().ok(),
        _ => None,
    };
    let store = lock(&shared.store);
    let Some(app) = app_id.and_then(|id| store.app(id)) else {
        return Err(refuse(UNDECODABLE));
    };
    let signed = format!("{header}.{claims}");
    if UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, &app.public_key)
        .verify(signed.as_bytes(), &signature)
        .is_err()
    {
        return Err(refuse(UNDECODABLE));
    }
    let now = store.auth_now();
    let (Some(iat), Some(exp)) = (
        claims_json.get("iat").and_then(Value::as_i64),
        claims_json.get("exp").and_then(Value::as_i64),
    ) else {
        return Err(refuse(IAT_BAD));
    };
    if iat > now + IAT_LEEWAY {
        return Err(refuse(IAT_BAD));
    }
    if exp <= now {
        return Err(refuse(EXP_PAST));
    }
    if exp - iat > MAX_JWT_LIFE || exp > now + MAX_JWT_LIFE {
        return Err(refuse(EXP_FAR));
    }
    Ok(app.id)
}

/// The PKCS#1 `RSAPublicKey` inside `der`, which is either that already or an X.509
/// `SubjectPublicKeyInfo` (`openssl rsa -pubout`): SEQUENCE { AlgorithmIdentifier, BIT STRING }.
pub(crate) fn pkcs1_public_key(der: &[u8]) -> Option<Vec<u8>> {
    let (tag, outer, _) = der_element(der)?;
    if tag != 0x30 {
        return None;
    }
    let (first_tag, _, after_first) = der_element(outer)?;
    match first_tag {
        // RSAPublicKey starts with the modulus, an INTEGER.
        0x02 => Some(der.to_vec()),
        // SubjectPublicKeyInfo starts with the AlgorithmIdentifier SEQUENCE.
        0x30 => {
            let (bits_tag, bits, _) = der_element(after_first)?;
            // The BIT STRING's first byte counts unused bits, 0 for a DER key.
            (bits_tag == 0x03 && bits.first() == Some(&0)).then(|| bits[1..].to_vec())
        }
        _ => None,
    }
}

/// One DER element: (tag, content, rest after it).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |acc, &byte| (acc << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| (tag, &rest[..length], &rest[length..]))
}
