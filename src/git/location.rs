//! Where the git cache lives and how a repository URL is named: the cache root (flag, environment,
//! XDG default), the per-URL directory name, and the URL as it may be shown (without credentials).
//! Pure functions; no I/O except making a relative local path absolute.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The cache root: `--cache-dir` if given, else `PROMOTER_CACHE_DIR`, else
/// `${XDG_CACHE_HOME:-$HOME/.cache}/promoter`. Empty variables count as unset, and a relative
/// `XDG_CACHE_HOME` is ignored, as the XDG Base Directory specification asks.
pub(crate) fn cache_dir(
    flag: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<PathBuf> {
    if let Some(dir) = flag {
        return Ok(dir.to_path_buf());
    }
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("PROMOTER_CACHE_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(xdg) = set("XDG_CACHE_HOME").filter(|dir| Path::new(dir).is_absolute()) {
        return Ok(Path::new(&xdg).join("promoter"));
    }
    if let Some(home) = set("HOME") {
        return Ok(Path::new(&home).join(".cache").join("promoter"));
    }
    bail!(
        "cannot choose a git cache directory: none of --cache-dir, PROMOTER_CACHE_DIR, XDG_CACHE_HOME or HOME is set"
    )
}

/// A repository URL as promoter uses it: what libgit2 is given, and what people may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RemoteUrl {
    /// Given to libgit2 only: local paths are made absolute. Never printed.
    raw: String,
    /// The URL without any `user:password@` part: safe for messages and for naming the cache.
    shown: String,
}

impl RemoteUrl {
    pub(crate) fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.is_empty() {
            bail!("the repository URL is empty");
        }
        let raw = if is_local_path(url) {
            std::path::absolute(url)?.to_string_lossy().into_owned()
        } else {
            url.to_owned()
        };
        let shown = without_credentials(&raw);
        Ok(Self { raw, shown })
    }

    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    pub(crate) fn shown(&self) -> &str {
        &self.shown
    }

    /// The cache directory name: a readable slug of the URL plus a stable hash, so two URLs
    /// never share a directory and the same repository keeps its directory across runs.
    pub(crate) fn cache_dir_name(&self) -> String {
        let trimmed = self
            .shown
            .split_once("://")
            .map_or(self.shown.as_str(), |(_, rest)| rest);
        let mut slug: String = trimmed
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        slug = slug.trim_matches(|c| c == '-' || c == '.').to_owned();
        if slug.len() > 60 {
            // Keep the end: it names the repository.
            slug = slug[slug.len() - 60..]
                .trim_start_matches(['-', '.'])
                .to_owned();
        }
        format!("{slug}-{:016x}", fnv1a(self.shown.as_bytes()))
    }
}

fn is_local_path(url: &str) -> bool {
    !url.contains("://") && !is_scp_like(url)
}

/// `git@host:owner/repo.git`: a colon before any slash (and not a Windows drive letter).
fn is_scp_like(url: &str) -> bool {
    match (url.find(':'), url.find('/')) {
        (Some(colon), slash) => colon > 1 && slash.is_none_or(|slash| colon < slash),
        (None, _) => false,
    }
}

/// Drops `user[:password]@` from `scheme://user:password@host/...`.
fn without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}{path}", &authority[at + 1..]),
        None => url.to_owned(),
    }
}

/// FNV-1a, 64 bits: stable across Rust releases (std's hasher is not promised to be).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn cache_dir_prefers_flag_then_variable_then_xdg_then_home() {
        let all = lookup(&[
            ("PROMOTER_CACHE_DIR", "/p"),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            cache_dir(Some(Path::new("/flag")), &all).unwrap(),
            PathBuf::from("/flag")
        );
        assert_eq!(cache_dir(None, &all).unwrap(), PathBuf::from("/p"));
        let xdg = lookup(&[
            ("PROMOTER_CACHE_DIR", ""),
            ("XDG_CACHE_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(cache_dir(None, &xdg).unwrap(), PathBuf::from("/x/promoter"));
        let relative_xdg = lookup(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/h")]);
        assert_eq!(
            cache_dir(None, &relative_xdg).unwrap(),
            PathBuf::from("/h/.cache/promoter")
        );
        assert!(cache_dir(None, &lookup(&[])).is_err());
    }

    #[test]
    fn shown_url_and_cache_name_never_carry_credentials() {
        let url = RemoteUrl::parse("https://x-access-token:ghp_secret@github.com/acme/deploy.git")
            .unwrap();
        assert_eq!(url.shown(), "https://github.com/acme/deploy.git");
        assert!(!url.cache_dir_name().contains("ghp_secret"));
        let plain = RemoteUrl::parse("https://github.com/acme/deploy.git").unwrap();
        assert_eq!(url.cache_dir_name(), plain.cache_dir_name());
        assert!(
            plain
                .cache_dir_name()
                .starts_with("github.com-acme-deploy.git-")
        );
        let other = RemoteUrl::parse("https://github.com/acme/other.git").unwrap();
        assert_ne!(other.cache_dir_name(), plain.cache_dir_name());
    }

    #[test]
    fn local_paths_become_absolute_and_scp_urls_stay() {
        let local = RemoteUrl::parse("some/dir").unwrap();
        assert!(Path::new(local.raw()).is_absolute());
        let scp = RemoteUrl::parse("git@github.com:acme/deploy.git").unwrap();
        assert_eq!(scp.raw(), "git@github.com:acme/deploy.git");
    }
}
