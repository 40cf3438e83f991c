//! Defaults of promotion.yaml that come from the CI environment or from other keys (docs/design.md §2):
//! the API URL, the repository, the SCM's web URL and from it the clone URL.
//!
//! Owns the derivation rules. Does not own the variables' detection (`ci_env`) or validation.

use crate::ci_env::{Env, var};

use super::Provider;

/// The API base URL without a trailing slash: `apiUrl` when written, else the provider's CI
/// variable, else its public service. `None` when it must be written (no default, e.g. gitea).
pub(super) fn api_url(provider: Provider, written: Option<&str>, env: Env<'_>) -> Option<String> {
    let info = provider.info();
    let url = match written {
        Some(url) => url.to_owned(),
        None => info
            .ci
            .api_url
            .and_then(|name| var(env, name))
            .or_else(|| info.api.default_url.map(str::to_owned))?,
    };
    Some(url.trim_end_matches('/').to_owned())
}

/// The CI variable [`api_url`] reads when `apiUrl` is not written, if it is set.
pub(super) fn api_url_variable(provider: Provider, env: Env<'_>) -> Option<&'static str> {
    let name = provider.info().ci.api_url?;
    var(env, name).map(|_| name)
}

/// The CI variable naming the SCM's web address, and its value, when set (see [`web_base`]).
pub(super) fn server_url(provider: Provider, env: Env<'_>) -> Option<(&'static str, String)> {
    let name = provider.info().ci.server_url?;
    var(env, name).map(|value| (name, value))
}

/// `owner` and `name` from the CI job's own repository, with the variables they came from: the
/// provider's [`CiVariables::repository`](crate::scm::registry::CiVariables::repository)
/// (`GITHUB_REPOSITORY`, `owner/name`, also set by Gitea/Forgejo Actions; GitLab's
/// `CI_PROJECT_PATH`, `group/subgroup/name`; owner = everything before the last `/`).
pub(super) fn repository_from_env(
    provider: Provider,
    env: Env<'_>,
) -> Option<(String, String, &'static str)> {
    let from = provider.info().ci.repository.as_ref()?;
    let (owner, name) = (from.read)(env)?;
    Some((owner, name, from.variables))
}

/// The SCM's web address (`https://github.com`), without a trailing slash.
///
/// When `apiUrl` was not written, the CI's server variable wins (`GITHUB_SERVER_URL`,
/// `CI_SERVER_URL`): it names the instance the job runs on. When `apiUrl` was written, the web
/// address follows it, so a job on github.com that manages a GitHub Enterprise repository clones
/// from that Enterprise host. Derivation from the API URL (the provider's
/// [`ApiUrls`](crate::scm::registry::ApiUrls)): a public API host → its web address
/// (`https://api.github.com` → `https://github.com`); the URL without the provider's API suffix
/// (`/api/v3` GitHub Enterprise, `/api/v4` GitLab, `/api/v1` Gitea, Forgejo); anything else → its
/// origin.
pub(super) fn web_base(
    provider: Provider,
    api_url: &str,
    api_url_written: bool,
    env: Env<'_>,
) -> String {
    if !api_url_written && let Some((_, server)) = server_url(provider, env) {
        return server.trim_end_matches('/').to_owned();
    }
    let api = &provider.info().api;
    if let Some((public_api, web)) = api.public_host
        && api_url == public_api
    {
        return web.to_owned();
    }
    match api_url.strip_suffix(api.suffix) {
        Some(base) if !base.ends_with(':') && base.contains("://") => base.to_owned(),
        _ => origin(api_url).to_owned(),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin(url: &str) -> &str {
    let Some(after_scheme) = url.find("://").map(|i| i + 3) else {
        return url;
    };
    match url[after_scheme..].find('/') {
        Some(slash) => &url[..after_scheme + slash],
        None => url,
    }
}

/// `url` with its user name and password replaced by `***` (`https://***@host/...`), when it has
/// any; `None` for a URL without. The result is what messages may show: never the secret.
///
/// The userinfo is what precedes the last `@` of the authority (RFC 3986 §3.2). A password holding
/// an unencoded `/` ends the authority early (`https://user:pa/ss@host`); its "port" is then not a
/// number, and everything up to the last `@` before any query is taken as userinfo.
pub(super) fn redact_userinfo(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let before_query = &rest[..rest.find(['?', '#']).unwrap_or(rest.len())];
    let authority = &before_query[..before_query.find('/').unwrap_or(before_query.len())];
    let at = match authority.rfind('@') {
        Some(at) => at,
        None => {
            let port_is_text = authority
                .rsplit_once(':')
                .is_some_and(|(_, port)| !port.bytes().all(|b| b.is_ascii_digit()));
            if !port_is_text {
                return None;
            }
            before_query.rfind('@')?
        }
    };
    Some(format!("{scheme}://***@{}", &rest[at + 1..]))
}

/// Checks that `url` is an absolute `http(s)://host...` URL; says what is wrong otherwise.
pub(super) fn check_http_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("`{url}` is not an http(s) URL"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("`{url}` has no host"));
    }
    if url.contains(char::is_whitespace) || url.contains(['?', '#']) {
        return Err(format!(
            "`{url}` must be a plain base URL, without spaces, query or fragment"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn api_url_defaults_per_provider_and_ci() {
        type Case = (
            Provider,
            Option<&'static str>,
            &'static [(&'static str, &'static str)],
            Option<&'static str>,
        );
        let cases: [Case; 8] = [
            (Provider::Github, None, &[], Some("https://api.github.com")),
            (
                Provider::Github,
                None,
                &[("GITHUB_API_URL", "https://ghe.acme.io/api/v3")],
                Some("https://ghe.acme.io/api/v3"),
            ),
            (
                Provider::Github,
                Some("https://ghe.corp/api/v3/"),
                &[("GITHUB_API_URL", "https://x")],
                Some("https://ghe.corp/api/v3"),
            ),
            (
                Provider::Gitlab,
                None,
                &[],
                Some("https://gitlab.com/api/v4"),
            ),
            (
                Provider::Gitlab,
                None,
                &[("CI_API_V4_URL", "https://git.acme.io/api/v4")],
                Some("https://git.acme.io/api/v4"),
            ),
            (
                Provider::Gitlab,
                None,
                &[("GITHUB_API_URL", "https://ghe/api/v3")],
                Some("https://gitlab.com/api/v4"),
            ),
            (
                Provider::Gitea,
                None,
                &[("GITHUB_API_URL", "https://x")],
                None,
            ),
            (
                Provider::Forgejo,
                Some("https://codeberg.org/api/v1"),
                &[],
                Some("https://codeberg.org/api/v1"),
            ),
        ];
        for (provider, written, vars, expected) in cases {
            assert_eq!(
                api_url(provider, written, &table(vars)).as_deref(),
                expected,
                "{provider:?} {written:?} {vars:?}"
            );
        }
    }

    #[test]
    fn repository_comes_from_the_provider_ci_variable() {
        type Case = (
            Provider,
            &'static [(&'static str, &'static str)],
            Option<(&'static str, &'static str)>,
        );
        let cases: [Case; 6] = [
            (
                Provider::Github,
                &[("GITHUB_REPOSITORY", "acme/deploy")],
                Some(("acme", "deploy")),
            ),
            (
                Provider::Gitlab,
                &[("CI_PROJECT_PATH", "group/sub/deploy")],
                Some(("group/sub", "deploy")),
            ),
            (
                Provider::Gitlab,
                &[("GITHUB_REPOSITORY", "acme/deploy")],
                None,
            ),
            (
                Provider::Github,
                &[("CI_PROJECT_PATH", "group/deploy")],
                None,
            ),
            (
                Provider::Forgejo,
                &[("GITHUB_REPOSITORY", "acme/deploy")],
                Some(("acme", "deploy")),
            ),
            (
                Provider::Github,
                &[("GITHUB_REPOSITORY", "nodelimiter")],
                None,
            ),
        ];
        for (provider, vars, expected) in cases {
            let found = repository_from_env(provider, &table(vars));
            let found = found.as_ref().map(|(o, n, _)| (o.as_str(), n.as_str()));
            assert_eq!(found, expected, "{provider:?} {vars:?}");
        }
    }

    #[test]
    fn web_base_follows_ci_server_or_api_url() {
        type Case = (
            Provider,
            &'static str,
            bool,
            &'static [(&'static str, &'static str)],
            &'static str,
        );
        let cases: [Case; 9] = [
            (
                Provider::Github,
                "https://api.github.com",
                false,
                &[],
                "https://github.com",
            ),
            (
                Provider::Github,
                "https://api.github.com",
                false,
                &[("GITHUB_SERVER_URL", "https://github.com/")],
                "https://github.com",
            ),
            (
                Provider::Github,
                "https://ghe.acme.io/api/v3",
                false,
                &[],
                "https://ghe.acme.io",
            ),
            (
                Provider::Github,
                "https://ghe.acme.io/api/v3",
                true,
                &[("GITHUB_SERVER_URL", "https://github.com")],
                "https://ghe.acme.io",
            ),
            (
                Provider::Github,
                "http://127.0.0.1:8080",
                true,
                &[],
                "http://127.0.0.1:8080",
            ),
            (
                Provider::Gitlab,
                "https://gitlab.com/api/v4",
                false,
                &[("CI_SERVER_URL", "https://gitlab.acme.io")],
                "https://gitlab.acme.io",
            ),
            (
                Provider::Gitlab,
                "https://host.io/gitlab/api/v4",
                true,
                &[],
                "https://host.io/gitlab",
            ),
            (
                Provider::Gitea,
                "https://gitea.acme.io/api/v1",
                true,
                &[("GITHUB_SERVER_URL", "https://x")],
                "https://gitea.acme.io",
            ),
            (
                Provider::Forgejo,
                "https://codeberg.org/other/path",
                true,
                &[],
                "https://codeberg.org",
            ),
        ];
        for (provider, api, written, vars, expected) in cases {
            assert_eq!(
                web_base(provider, api, written, &table(vars)),
                expected,
                "{provider:?} {api} {vars:?}"
            );
        }
    }

    #[test]
    fn userinfo_is_found_and_redacted_without_showing_the_secret() {
        let cases = [
            ("https://api.github.com", None),
            ("http://[::1]:8080/api/v1", None),
            ("https://host/path@v2", None),
            ("file:///srv/mirror@2/deploy.git", None),
            (
                "https://user:s3cret@github.com/acme/deploy.git",
                Some("https://***@github.com/acme/deploy.git"),
            ),
            (
                "https://ghp_token@ghe.io/api/v3",
                Some("https://***@ghe.io/api/v3"),
            ),
            ("https://a@b:c@host", Some("https://***@host")),
            (
                "https://user:pa/ss@host/x?q=@",
                Some("https://***@host/x?q=@"),
            ),
            (
                "ssh://git@host/acme/deploy.git",
                Some("ssh://***@host/acme/deploy.git"),
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_userinfo(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn only_absolute_http_urls_are_accepted() {
        assert!(check_http_url("https://api.github.com").is_ok());
        assert!(check_http_url("http://127.0.0.1:3000/api/v1").is_ok());
        for bad in [
            "api.github.com",
            "ftp://x",
            "https://",
            "https:///x",
            "https://x?y=1",
        ] {
            assert!(check_http_url(bad).is_err(), "{bad}");
        }
    }
}
