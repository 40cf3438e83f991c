//! Where a repository lives on its SCM ([`RepoPath`]), and the one percent-encoding every provider
//! uses for path segments and query values ([`encode`]).

use std::fmt;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, PercentEncode, utf8_percent_encode};

/// Unreserved characters (RFC 3986 §2.3) stay; everything else in a path segment or query value
/// is percent-encoded, `/` included.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `text` as one URL path segment or query value: everything but RFC 3986's unreserved
/// characters percent-encoded, `/` included (GitLab's `group%2Fproject`).
pub(crate) fn encode(text: &str) -> PercentEncode<'_> {
    utf8_percent_encode(text, COMPONENT)
}

/// A repository's path on its SCM: the owner's segments, then the repository's name. The owner is
/// what `repository.owner` says, split at `/`:
///
/// | provider | owner | path |
/// | --- | --- | --- |
/// | GitHub, Gitea, Forgejo | `owner` | `owner/name` |
/// | GitLab | `group[/subgroup…]` | `group/sub/name` |
/// | Azure DevOps | `organization/project` | `organization/project/repository` |
/// | Bitbucket | `workspace` (Data Center: project key) | `workspace/repo` |
///
/// Which shapes a provider accepts is its descriptor's [`OwnerShape`](super::registry::OwnerShape);
/// how the segments go into its API URLs is its own: [`RepoPath::encoded_segments`] (one URL
/// segment each) or [`RepoPath::encoded_whole`] (the whole path as one segment).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepoPath {
    owner: Vec<String>,
    name: String,
}

impl RepoPath {
    /// `owner` is split at `/` (empty segments dropped); `name` is one segment.
    pub fn new(owner: &str, name: &str) -> Self {
        Self {
            owner: owner
                .split('/')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            name: name.to_owned(),
        }
    }

    /// The owner's segments: `["acme"]`, `["group", "sub"]`, `["organization", "project"]`.
    pub fn owner_segments(&self) -> &[String] {
        &self.owner
    }

    /// The owner as written: its segments joined with `/`.
    pub fn owner(&self) -> String {
        self.owner.join("/")
    }

    /// The repository's own name (the last segment).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Every segment, the owner's first.
    pub fn segments(&self) -> impl Iterator<Item = &str> {
        self.owner
            .iter()
            .map(String::as_str)
            .chain(std::iter::once(self.name.as_str()))
    }

    /// `owner/name` with every segment joined by `/`, for messages and comparisons.
    pub fn full_name(&self) -> String {
        self.segments().collect::<Vec<_>>().join("/")
    }

    /// Every segment encoded on its own and joined with `/`: `acme/deploy` (GitHub and Gitea
    /// `/repos/{owner}/{repo}`).
    pub fn encoded_segments(&self) -> String {
        self.segments()
            .map(|s| encode(s).to_string())
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The whole path as one encoded segment: `group%2Fsub%2Fdeploy` (GitLab's project id).
    pub fn encoded_whole(&self) -> String {
        encode(&self.full_name()).to_string()
    }
}

impl fmt::Display for RepoPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_name())
    }
}

#[cfg(test)]
mod tests {
    use super::RepoPath;

    #[test]
    fn one_owner_segment_is_encoded_per_segment() {
        let path = RepoPath::new("acme", "de ploy");
        assert_eq!(path.full_name(), "acme/de ploy");
        assert_eq!(path.encoded_segments(), "acme/de%20ploy");
        assert_eq!(path.encoded_whole(), "acme%2Fde%20ploy");
    }

    #[test]
    fn nested_and_two_part_owners_keep_their_segments() {
        let gitlab = RepoPath::new("group/sub", "deploy");
        assert_eq!(gitlab.owner_segments(), ["group", "sub"]);
        assert_eq!(gitlab.owner(), "group/sub");
        assert_eq!(gitlab.encoded_whole(), "group%2Fsub%2Fdeploy");
        let azure = RepoPath::new("org/Project One", "deploy");
        assert_eq!(azure.encoded_segments(), "org/Project%20One/deploy");
        assert_eq!(azure.segments().count(), 3);
    }
}
