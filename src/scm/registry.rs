//! What a provider *is*, in one place per provider, and the one list of them.
//!
//! Each provider's folder (`scm/github/`, `scm/gitlab/`, `scm/gitea/`) holds a [`ProviderInfo`]
//! const in its `mod.rs`: config name, token variable, git user, API and web URL shapes, text
//! limits, PR sigil, whether its merge is guarded by a head SHA, and the function that builds its
//! [`Scm`] client. The `registry!` call below is the list: it makes the [`Provider`] enum that
//! `scm.provider` parses into, with one variant per line. Config parsing, validation and defaults,
//! the schema, `pass.rs` and `reconcile/text.rs` read the descriptor instead of matching on the
//! provider.
//!
//! Adding a provider (docs/design.md §7 has the whole checklist): a folder `scm/<name>/` whose
//! `mod.rs` has the client, its wire shapes and a `pub const PROVIDER: ProviderInfo`, plus one line
//! in the `registry!` call.

use std::fmt;

use super::http::{Auth, HttpOptions};
use super::{RepoPath, Scm, TextLimits};
use crate::ci_env::{Env, var};
use crate::model::{Secret, Sha};

/// Everything promoter knows about one provider outside its client code.
#[derive(Debug)]
pub struct ProviderInfo {
    /// `scm.provider` in promotion.yaml (`github`).
    pub name: &'static str,
    /// The product, in messages (`GitHub`).
    pub product: &'static str,
    /// The variable read for the token when `tokenEnv` is not set.
    pub default_token_env: &'static str,
    /// The user name git sends with the token as password over HTTPS; empty: git sends the token
    /// as `Authorization: Bearer` (Bitbucket Data Center).
    pub git_username: &'static str,
    /// What the SCM calls a pull request, in messages (`pull request`, GitLab `merge request`).
    pub pr_noun: &'static str,
    /// How people write a PR number (`#12`, GitLab `!12`).
    pub pr_sigil: char,
    /// The longest PR title and description the SCM accepts (`reconcile::text::fit` cuts to them).
    pub text_limits: TextLimits,
    /// Whether the merge request itself carries the head SHA the gates were read on, and the SCM
    /// refuses it when the head moved (GitHub `sha`, GitLab `sha`, Gitea `head_commit_id`). A
    /// provider without must re-read the head right before merging and check the merge commit's
    /// second parent after it, and say so in its docs (docs/design.md §7).
    pub merge_guarded_by_head_sha: bool,
    /// Whether its pull requests carry labels (Azure DevOps: tags) that `pullRequest.holdLabel`
    /// can be read from; config validation refuses a hold label where they do not.
    pub pr_labels: bool,
    /// Whether the repository has issues to hold the dashboard issue; config validation refuses
    /// `dashboard.enabled: true` where it does not.
    pub issues: bool,
    pub api: ApiUrls,
    pub ci: CiVariables,
    /// Which `repository.owner` values it accepts.
    pub owner: OwnerShape,
    pub web: WebUrls,
    /// Builds the client (see [`Connect`]).
    pub connect: fn(Connect<'_>) -> anyhow::Result<Box<dyn Scm>>,
}

/// Where the API is and how the web address follows from it.
#[derive(Debug)]
pub struct ApiUrls {
    /// Used when neither `apiUrl` nor [`CiVariables::api_url`] gives one; `None`: `apiUrl` is
    /// required.
    pub default_url: Option<&'static str>,
    /// What the API root adds to the web address (`/api/v4`): the web address is the API URL
    /// without it (else the API URL's origin).
    pub suffix: &'static str,
    /// A public API host whose web address is not an origin plus suffix:
    /// (`https://api.github.com`, `https://github.com`).
    pub public_host: Option<(&'static str, &'static str)>,
}

/// The CI variables that give defaults when promoter runs in the provider's own CI.
#[derive(Debug)]
pub struct CiVariables {
    /// The CI system, in hints (`GitHub Actions`).
    pub name: &'static str,
    /// The API root (`GITHUB_API_URL`).
    pub api_url: Option<&'static str>,
    /// The SCM's web address (`GITHUB_SERVER_URL`); wins over the derived one when `apiUrl` is
    /// not written.
    pub server_url: Option<&'static str>,
    /// The job's own repository, used when `repository` is not written.
    pub repository: Option<CiRepository>,
}

/// Where a CI job's own repository is read from.
#[derive(Debug)]
pub struct CiRepository {
    /// The variables read, for hints (`GITHUB_REPOSITORY`).
    pub variables: &'static str,
    /// `(owner, name)` from the environment; `None` when unset or not in the expected shape.
    /// Most CI systems have one `owner/name` variable: [`owner_slash_name`].
    pub read: fn(Env<'_>) -> Option<(String, String)>,
}

/// `(owner, name)` from one variable holding `owner/name` (`GITHUB_REPOSITORY`) or
/// `group/subgroup/name` (`CI_PROJECT_PATH`): the owner is everything before the last `/`.
pub(crate) fn owner_slash_name(env: Env<'_>, variable: &str) -> Option<(String, String)> {
    let full = var(env, variable)?;
    let (owner, name) = full.trim_matches('/').rsplit_once('/')?;
    if owner.is_empty() || name.is_empty() {
        return None;
    }
    Some((owner.to_owned(), name.to_owned()))
}

/// The `repository.owner` values a provider accepts (see [`RepoPath`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnerShape {
    /// One name, no `/` (GitHub, Gitea, Bitbucket workspace).
    One,
    /// One or more segments; `what` names them for hints (GitLab: "namespace paths
    /// (`group/subgroup`)").
    Nested { what: &'static str },
    /// Exactly this many segments (Azure DevOps: 2, "`organization/project`").
    Exactly { segments: usize, what: &'static str },
}

impl OwnerShape {
    /// Whether an owner of `segments` segments fits.
    pub fn accepts(self, segments: usize) -> bool {
        match self {
            OwnerShape::One => segments == 1,
            OwnerShape::Nested { .. } => segments >= 1,
            OwnerShape::Exactly { segments: n, .. } => segments == n,
        }
    }

    /// How its owners are written, for hints; `None` for one plain name.
    pub fn what(self) -> Option<&'static str> {
        match self {
            OwnerShape::One => None,
            OwnerShape::Nested { what } | OwnerShape::Exactly { what, .. } => Some(what),
        }
    }
}

/// How the provider's web pages are addressed, from the SCM's web address (`https://github.com`)
/// or the repository's page.
#[derive(Debug)]
pub struct WebUrls {
    /// The repository's page from the web address and its path.
    pub repository: fn(web_base: &str, path: &RepoPath) -> String,
    /// What git clones when `cloneUrl` is not written, from the web address and the path
    /// (Bitbucket Data Center clones from `{web}/scm/{project}/{repo}.git`, not from the page).
    pub clone: fn(web_base: &str, path: &RepoPath) -> String,
    /// A commit's page.
    pub commit: fn(repository_page: &str, sha: &Sha) -> String,
    /// The changes on `to` since its merge base with `from`.
    pub compare: fn(repository_page: &str, from: &Sha, to: &Sha) -> String,
}

/// The URL shapes GitHub, Gitea and Forgejo share; other providers pick what fits.
pub(crate) mod web {
    use super::RepoPath;
    use crate::model::Sha;

    /// `{web}/{owner}/{name}`.
    pub(crate) fn repository_under(web_base: &str, path: &RepoPath) -> String {
        format!("{web_base}/{}", path.full_name())
    }

    /// `{web}/{owner}/{name}.git`: the repository's page with `.git`.
    pub(crate) fn dot_git(web_base: &str, path: &RepoPath) -> String {
        format!("{}.git", repository_under(web_base, path))
    }

    /// `{page}/commit/{sha}`.
    pub(crate) fn commit(repository_page: &str, sha: &Sha) -> String {
        format!("{repository_page}/commit/{sha}")
    }

    /// `{page}/compare/{from}...{to}` (three dots: changes on `to` since the merge base).
    pub(crate) fn compare(repository_page: &str, from: &Sha, to: &Sha) -> String {
        format!("{repository_page}/compare/{from}...{to}")
    }
}

/// What [`ProviderInfo::connect`] builds a client from.
pub struct Connect<'a> {
    pub provider: Provider,
    /// `scm.apiUrl` or its default, without a trailing slash.
    pub api_url: &'a str,
    pub repository: &'a RepoPath,
    /// The token of the run; `None`: anonymous.
    pub token: Option<Secret>,
    /// The user name from `scm.usernameEnv`: the token is then a password sent with it as HTTP
    /// Basic (Bitbucket app passwords and API tokens); `None`: the provider's own token scheme.
    pub username: Option<String>,
    /// Credentials asked for before every request (a GitHub App's installation tokens); when
    /// set, they replace `token`.
    pub minted: Option<Auth>,
    /// The run's HTTP options (request log, wait budget, trust store, token source).
    pub http: HttpOptions,
    /// Whether the configuration has a gate with this key (GitLab reads its pipeline only then).
    pub has_gate: &'a dyn Fn(&str) -> bool,
}

impl fmt::Debug for Connect<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connect")
            .field("provider", &self.provider)
            .field("api_url", &self.api_url)
            .field("repository", &self.repository)
            .finish_non_exhaustive()
    }
}

/// Declares the providers: `Variant => descriptor,` per line, in the order messages and the
/// schema list them. Makes [`Provider`] (one variant per line), [`Provider::info`] and
/// [`Provider::ALL`].
macro_rules! registry {
    ($($variant:ident => $info:path,)+) => {
        /// `scm.provider`: which SCM promoter talks to. Its facts are its [`ProviderInfo`].
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Provider {
            $($variant,)+
        }

        impl Provider {
            /// Every provider, in registration order.
            pub const ALL: &[Provider] = &[$(Provider::$variant,)+];

            /// This provider's descriptor.
            pub fn info(self) -> &'static ProviderInfo {
                match self {
                    $(Provider::$variant => &$info,)+
                }
            }
        }
    };
}

registry! {
    Github => super::github::PROVIDER,
    Gitlab => super::gitlab::PROVIDER,
    Gitea => super::gitea::GITEA,
    Forgejo => super::gitea::FORGEJO,
    Bitbucket => super::bitbucket::PROVIDER,
    AzureDevops => super::azure::PROVIDER,
    BitbucketServer => super::bitbucket_server::PROVIDER,
}

impl Provider {
    /// The config name (`github`).
    pub fn as_str(self) -> &'static str {
        self.info().name
    }

    /// The provider whose config name is `name`.
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL.iter().copied().find(|p| p.as_str() == name)
    }

    /// The variable read for the token when `tokenEnv` is not set.
    pub fn default_token_env(self) -> &'static str {
        self.info().default_token_env
    }

    /// The user name git sends with the token as password over HTTPS.
    pub fn git_username(self) -> &'static str {
        self.info().git_username
    }

    /// How people write a PR number on this SCM (`#12`, GitLab `!12`).
    pub fn pull_request_sigil(self) -> char {
        self.info().pr_sigil
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Provider {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Provider {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Provider::from_name(&name).ok_or_else(|| {
            let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
            serde::de::Error::custom(format_args!(
                "unknown provider `{name}`, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

/// The schema lists the registered names, so the structural check (`config::structure`) refuses
/// any other with a did-you-mean hint.
impl schemars::JsonSchema for Provider {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Provider".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let names: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        schemars::json_schema!({
            "description": "Which SCM promoter talks to.",
            "type": "string",
            "enum": names,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        for provider in Provider::ALL {
            assert_eq!(Provider::from_name(provider.as_str()), Some(*provider));
            let same = Provider::ALL
                .iter()
                .filter(|p| {
                    p.as_str() == provider.as_str()
                        || p.info().default_token_env == provider.info().default_token_env
                })
                .count();
            assert_eq!(same, 1, "{provider} shares its name or token variable");
        }
        assert_eq!(Provider::from_name("gitlap"), None);
    }

    #[test]
    fn owner_shapes_accept_their_segment_counts() {
        assert!(OwnerShape::One.accepts(1) && !OwnerShape::One.accepts(2));
        let nested = OwnerShape::Nested { what: "paths" };
        assert!(nested.accepts(1) && nested.accepts(3) && !nested.accepts(0));
        let two = OwnerShape::Exactly {
            segments: 2,
            what: "`organization/project`",
        };
        assert!(two.accepts(2) && !two.accepts(1) && !two.accepts(3));
        assert_eq!(two.what(), Some("`organization/project`"));
    }

    /// What every provider's URL shapes keep, whatever their layout (GitHub's
    /// `{web}/{owner}/{name}`, Azure DevOps' `{web}/{organization}/{project}/_git/{name}`).
    #[test]
    fn every_provider_derives_its_pages_from_the_web_address() {
        let path = RepoPath::new("acme", "deploy");
        let sha = Sha::parse(&"a".repeat(40)).expect("40 hex digits");
        for provider in Provider::ALL {
            let web = &provider.info().web;
            let page = (web.repository)("https://scm.example", &path);
            assert!(
                page.starts_with("https://scm.example/"),
                "{provider}: {page}"
            );
            assert!(page.contains("acme") && page.ends_with("deploy"), "{page}");
            let clone = (web.clone)("https://scm.example", &path);
            assert!(
                clone.starts_with("https://scm.example/"),
                "{provider}: {clone}"
            );
            assert!(clone.contains("deploy"), "{provider}: {clone}");
            assert!((web.commit)(&page, &sha).starts_with(&page), "{provider}");
            assert!((web.compare)(&page, &sha, &sha).contains(sha.as_str()));
        }
    }

    #[test]
    fn providers_without_a_default_api_url_say_so_by_needing_it() {
        let required: Vec<&str> = Provider::ALL
            .iter()
            .filter(|p| p.info().api.default_url.is_none())
            .map(|p| p.as_str())
            .collect();
        assert_eq!(required, ["gitea", "forgejo", "bitbucket-server"]);
    }
}
