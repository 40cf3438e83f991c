//! The forges the scenario suite runs against: one sandbox store (the same repositories, pull
//! requests and statuses) behind the GitHub, GitLab, Gitea, Bitbucket Cloud and Azure DevOps
//! dialects; Forgejo is the Gitea dialect under `provider: forgejo`. Azure DevOps addresses the
//! store's `acme/deploy` as organization `sandbox`, project `acme`, repository `deploy`. Everything a scenario needs to know about a dialect lives
//! here: its API root, how its requests count in the API budget, where to inject faults, and how
//! a person merges by hand.

use sandbox::Token;
use sandbox::{Fault, Sandbox};

use super::{NAME, OWNER};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Forge {
    Github,
    Gitlab,
    Gitea,
    Forgejo,
    Bitbucket,
    AzureDevops,
    BitbucketServer,
}

/// What one API request is in the budget of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    PrLookup,
    /// One PR read by number (after an ambiguous merge answer).
    PrRead,
    GateRead,
    /// The second request of a gate read: GitHub check runs, GitLab pipelines.
    GateReadSecond,
    Create,
    Update,
    Merge,
    StatusWrite,
    /// One commit read by hash (Bitbucket: a PR's short source hash resolved, a merge checked).
    CommitRead,
}

impl Forge {
    /// The value of `scm.provider`.
    pub(crate) fn provider(self) -> &'static str {
        match self {
            Forge::Github => "github",
            Forge::Gitlab => "gitlab",
            Forge::Gitea => "gitea",
            Forge::Forgejo => "forgejo",
            Forge::Bitbucket => "bitbucket",
            Forge::AzureDevops => "azure-devops",
            Forge::BitbucketServer => "bitbucket-server",
        }
    }

    /// Where the API's paths start under the sandbox's base URL (Azure DevOps: the organization;
    /// its API root is the base URL itself).
    pub(crate) fn prefix(self) -> &'static str {
        match self {
            Forge::Github => "/api/v3",
            Forge::Gitlab => "/api/v4",
            Forge::Gitea | Forge::Forgejo => "/api/v1",
            Forge::Bitbucket => "/2.0",
            Forge::AzureDevops => "/sandbox",
            // Bitbucket Data Center: apiUrl is the base URL; every REST path is under /rest.
            Forge::BitbucketServer => "/rest",
        }
    }

    pub(crate) fn api_url(self, sandbox: &Sandbox) -> String {
        match self {
            Forge::AzureDevops => sandbox.azure_api_url(),
            Forge::BitbucketServer => sandbox.base_url(),
            _ => format!("{}{}", sandbox.base_url(), self.prefix()),
        }
    }

    /// `repository.owner` in promotion.yaml.
    pub(crate) fn owner(self) -> String {
        self.config_owner(OWNER)
    }

    /// `repository.owner` for the sandbox's `store_owner`: Azure DevOps puts the store's owner
    /// (the project) under the sandbox's one organization.
    pub(crate) fn config_owner(self, store_owner: &str) -> String {
        match self {
            Forge::AzureDevops => format!("{}/{store_owner}", sandbox::AZURE_ORGANIZATION),
            _ => store_owner.to_owned(),
        }
    }

    /// The repository under the API root, as the sandbox logs it (percent-encoded).
    pub(crate) fn repo(self) -> String {
        match self {
            Forge::Gitlab => format!("/projects/{OWNER}%2F{NAME}"),
            Forge::Bitbucket => format!("/repositories/{OWNER}/{NAME}"),
            Forge::AzureDevops => format!("/{OWNER}/_apis/git/repositories/{NAME}"),
            Forge::BitbucketServer => format!("/api/1.0/projects/{OWNER}/repos/{NAME}"),
            _ => format!("/repos/{OWNER}/{NAME}"),
        }
    }

    /// The collection of pull requests (GitLab: merge requests) of the repository.
    fn pulls_segment(self) -> &'static str {
        match self {
            Forge::Gitlab => "merge_requests",
            Forge::Bitbucket => "pullrequests",
            Forge::AzureDevops => "pullrequests",
            Forge::BitbucketServer => "pull-requests",
            _ => "pulls",
        }
    }

    /// Whether a gate read is two requests (GitHub statuses + check runs) or one (GitLab's
    /// statuses — plus the pipeline only when a gate is named `pipeline` —, Gitea's combined
    /// status).
    pub(crate) fn paired_gate_reads(self) -> bool {
        self == Forge::Github
    }

    /// Whether a pending commit status keeps its first description until its state changes
    /// (GitLab: posting `pending` again is refused and rolled back).
    pub(crate) fn keeps_pending_descriptions(self) -> bool {
        self == Forge::Gitlab
    }

    /// How the forge's client names PR `number` in messages.
    pub(crate) fn pr_named(self, number: u64) -> String {
        match self {
            Forge::Gitlab => format!("merge request !{number}"),
            Forge::AzureDevops => format!("pull request !{number}"),
            _ => format!("pull request #{number}"),
        }
    }

    /// Whether a merge answered 200 is followed by one read of the PR: Gitea's merge answer is
    /// empty, so the client reads the merge commit from the PR (routers/api/v1/repo/pull.go).
    pub(crate) fn reads_after_merge(self) -> bool {
        matches!(self, Forge::Gitea | Forge::Forgejo | Forge::BitbucketServer)
    }

    /// Whether `path` is the read that follows a merge answered 200 at `merge`: Gitea's PR read;
    /// Bitbucket Data Center's read of the merge commit (its second-parent check).
    pub(crate) fn is_read_after_merge(self, merge: &str, path: &str) -> bool {
        match self {
            Forge::BitbucketServer => path.starts_with(&format!("{}/commits/", self.repo())),
            _ => merge.strip_suffix("/merge") == Some(path),
        }
    }

    /// Whether the forge has issues for the dashboard (Bitbucket Data Center has none).
    pub(crate) fn has_issues(self) -> bool {
        self != Forge::BitbucketServer
    }

    /// Whether a merge is preceded by one read of the PR: Bitbucket Data Center's merge carries
    /// the PR version, not a SHA, so the client checks the head (and takes the version) on a read
    /// made immediately before it (docs/bitbucket-server.md).
    pub(crate) fn reads_before_merge(self) -> bool {
        self == Forge::BitbucketServer
    }

    /// Whether the forge's merge request carries the head SHA (descriptor
    /// `merge_guarded_by_head_sha`). Bitbucket's does not: its client reads the PR right before
    /// each merge (the guard read) and the merge commit right after one answered 200 (the check
    /// of its second parent); `World::api` counts both as part of the merge.
    pub(crate) fn guards_merge_by_head(self) -> bool {
        self != Forge::Bitbucket
    }

    /// Whether a PR the forge answers with carries a short head hash the client resolves with one
    /// commit read (Bitbucket: 12 characters); `World::api` counts it as part of the lookup or
    /// create whose answer it resolves.
    pub(crate) fn resolves_short_hashes(self) -> bool {
        self == Forge::Bitbucket
    }

    /// Whether a lookup that finds a PR may read it once more by id: Azure DevOps cuts
    /// descriptions to 400 characters in list answers (Pull Requests - Get Pull Requests), so the
    /// client reads a PR with a long description whole. Counted as part of the lookup.
    pub(crate) fn reads_after_lookup(self) -> bool {
        self == Forge::AzureDevops
    }

    pub(crate) fn merge_method(self) -> &'static str {
        match self {
            Forge::Gitea | Forge::Forgejo | Forge::Bitbucket | Forge::BitbucketServer => "POST",
            Forge::Github | Forge::Gitlab => "PUT",
            // Pull Requests - Update with `status: completed`.
            Forge::AzureDevops => "PATCH",
        }
    }

    fn update_method(self) -> &'static str {
        match self {
            Forge::Gitlab | Forge::Bitbucket | Forge::BitbucketServer => "PUT",
            _ => "PATCH",
        }
    }

    /// Full path glob of the merge endpoint, for [`sandbox::Fault`].
    pub(crate) fn merge_glob(self) -> String {
        let merge = match self {
            Forge::AzureDevops => "",
            _ => "/merge",
        };
        format!(
            "{}{}/{}/*{merge}",
            self.prefix(),
            self.repo(),
            self.pulls_segment()
        )
    }

    /// A fault on merge requests only (Azure DevOps updates and completes a PR with the same
    /// `PATCH`: its completions carry `"status":"completed"`).
    pub(crate) fn merge_fault(self) -> Fault {
        let fault = Fault::new(self.merge_method(), &self.merge_glob());
        match self {
            Forge::AzureDevops => fault.body_contains(r#""status":"completed""#),
            _ => fault,
        }
    }

    /// Full path of the PR list / create endpoint.
    pub(crate) fn pulls_path(self) -> String {
        format!("{}{}/{}", self.prefix(), self.repo(), self.pulls_segment())
    }

    /// Full path glob of the first request of a gate read.
    pub(crate) fn gate_read_glob(self) -> String {
        if self == Forge::BitbucketServer {
            // Build statuses are commit-wide: `/rest/build-status/1.0/commits/{sha}`.
            return format!("{}/build-status/1.0/commits/*", self.prefix());
        }
        let statuses = match self {
            Forge::Github => "commits/*/statuses",
            Forge::Gitlab => "repository/commits/*/statuses",
            // The combined status: the latest per context.
            Forge::Gitea | Forge::Forgejo => "commits/*/status",
            Forge::Bitbucket => "commit/*/statuses",
            Forge::AzureDevops => "commits/*/statuses",
            Forge::BitbucketServer => unreachable!("answered above"),
        };
        format!("{}{}/{statuses}", self.prefix(), self.repo())
    }

    /// Full path glob of the last request of a gate read: the second of a pair, or the only one.
    pub(crate) fn gate_read_last_glob(self) -> String {
        match self {
            Forge::Github => format!("{}{}/commits/*/check-runs", self.prefix(), self.repo()),
            Forge::Gitlab
            | Forge::Gitea
            | Forge::Forgejo
            | Forge::Bitbucket
            | Forge::AzureDevops
            | Forge::BitbucketServer => self.gate_read_glob(),
        }
    }

    /// Full path of merge request `number`'s merge endpoint.
    pub(crate) fn merge_path(self, number: u64) -> String {
        self.merge_glob().replace('*', &number.to_string())
    }

    /// The head-SHA guard in a merge request body; `None` where the merge has none (Bitbucket
    /// Cloud; Bitbucket Data Center carries the PR version in its query instead).
    pub(crate) fn merge_guard(self, body: &serde_json::Value) -> Option<&str> {
        match self {
            Forge::Gitea | Forge::Forgejo => body["head_commit_id"].as_str(),
            Forge::Github | Forge::Gitlab => body["sha"].as_str(),
            Forge::AzureDevops => body["lastMergeSourceCommit"]["commitId"].as_str(),
            Forge::Bitbucket | Forge::BitbucketServer => None,
        }
    }

    /// The repository as the client names it in messages.
    pub(crate) fn full_name(self) -> String {
        format!("{}/{NAME}", self.owner())
    }

    /// Classifies a request below the API root by its method, path and body; `None` for
    /// anything else.
    pub(crate) fn classify(self, method: &str, path: &str, body: &str) -> Option<Kind> {
        if self == Forge::BitbucketServer && path.starts_with("/build-status/1.0/commits/") {
            return match method {
                "GET" => Some(Kind::GateRead),
                "POST" => Some(Kind::StatusWrite),
                _ => None,
            };
        }
        let rest = path.strip_prefix(&self.repo())?;
        let pulls = format!("/{}", self.pulls_segment());
        let is_pr = |tail: &str| {
            tail.strip_prefix(&format!("{pulls}/"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        };
        let completes = self == Forge::AzureDevops && body.contains(r#""status":"completed""#);
        let kind = match method {
            "GET" if rest == pulls => Kind::PrLookup,
            "GET" if is_pr(rest) => Kind::PrRead,
            // Bitbucket Data Center's read of a merge commit (`/commits/{sha}`).
            "GET" if self == Forge::BitbucketServer && rest.starts_with("/commits/") => {
                Kind::PrRead
            }
            // Bitbucket Data Center's merge check, read for the veto reasons after a refusal.
            "GET" if rest.ends_with("/merge") && is_pr(rest.trim_end_matches("/merge")) => {
                Kind::PrRead
            }
            "GET" if rest.ends_with("/statuses") || rest.ends_with("/status") => Kind::GateRead,
            "GET" if rest.ends_with("/check-runs") || rest == "/pipelines" => Kind::GateReadSecond,
            "POST" if rest == pulls => Kind::Create,
            "POST" if rest.starts_with("/statuses/") || rest.ends_with("/statuses/build") => {
                Kind::StatusWrite
            }
            "GET"
                if rest
                    .strip_prefix("/commit/")
                    .is_some_and(|hash| !hash.contains('/')) =>
            {
                Kind::CommitRead
            }
            // Azure DevOps: `POST …/commits/{sha}/statuses`.
            "POST" if rest.ends_with("/statuses") => Kind::StatusWrite,
            "PATCH" if completes && is_pr(rest) => Kind::Merge,
            m if m == self.merge_method() && rest.ends_with("/merge") => Kind::Merge,
            m if m == self.update_method() && is_pr(rest) => Kind::Update,
            _ => return None,
        };
        Some(kind)
    }

    /// A person (`alice`) merges PR `number` through this forge's API.
    pub(crate) fn merge_by_hand(self, sandbox: &Sandbox, number: u64) {
        let token = "alice-token";
        sandbox.add_user_token("alice", &Token::new(token));
        let url = format!("{}{}", sandbox.base_url(), self.merge_path(number));
        if self == Forge::BitbucketServer {
            return merge_by_hand_on_bitbucket_server(self, sandbox, number, token);
        }
        let (auth, body) = match self {
            Forge::Github => (
                ("Authorization", format!("Bearer {token}")),
                r#"{"merge_method":"merge"}"#,
            ),
            Forge::Gitlab => (("PRIVATE-TOKEN", token.to_owned()), "{}"),
            Forge::Gitea | Forge::Forgejo => (
                ("Authorization", format!("token {token}")),
                r#"{"Do":"merge"}"#,
            ),
            Forge::Bitbucket => (
                ("Authorization", format!("Bearer {token}")),
                r#"{"type":"pullrequest_merge_parameters","merge_strategy":"merge_commit"}"#,
            ),
            Forge::AzureDevops => return self.complete_by_hand(sandbox, number, token),
            Forge::BitbucketServer => unreachable!("merged above"),
        };
        let request = match self.merge_method() {
            "PUT" => ureq::put(&url),
            _ => ureq::post(&url),
        };
        let answer = request
            .header(auth.0, &auth.1)
            .header("Accept", "application/json")
            .header("Content-Type", "application/json")
            .send(body)
            .expect("a person merges the PR");
        assert_eq!(answer.status(), 200, "{self:?} merge by hand");
    }

    /// A person completes Azure DevOps PR `number` with the source commit its page shows.
    fn complete_by_hand(self, sandbox: &Sandbox, number: u64, token: &str) {
        use base64::Engine;
        let url = format!(
            "{}{}{}/pullrequests/{number}?api-version=7.1",
            sandbox.base_url(),
            self.prefix(),
            self.repo()
        );
        let auth = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(format!(":{token}"))
        );
        let text = ureq::get(&url)
            .header("Authorization", &auth)
            .call()
            .expect("a person reads the PR")
            .into_body()
            .read_to_string()
            .expect("a PR");
        let pull: serde_json::Value = serde_json::from_str(&text).expect("a PR as JSON");
        let body = serde_json::json!({
            "status": "completed",
            "lastMergeSourceCommit": {"commitId": pull["lastMergeSourceCommit"]["commitId"]},
        });
        let answer = ureq::patch(&url)
            .header("Authorization", &auth)
            .header("Content-Type", "application/json")
            .send(body.to_string())
            .expect("a person completes the PR");
        assert_eq!(answer.status(), 200, "{self:?} merge by hand");
    }
}

/// Bitbucket Data Center: the merge names the PR version, so a person's client reads it first.
fn merge_by_hand_on_bitbucket_server(forge: Forge, sandbox: &Sandbox, number: u64, token: &str) {
    let pr = format!(
        "{}{}/pull-requests/{number}",
        sandbox.base_url(),
        forge.prefix_and_repo()
    );
    let auth = format!("Bearer {token}");
    let read: serde_json::Value = ureq::get(&pr)
        .header("Authorization", &auth)
        .call()
        .expect("a person reads the PR")
        .into_body()
        .read_to_string()
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .expect("a PR");
    let version = read["version"].as_u64().expect("a version");
    let answer = ureq::post(&format!("{pr}/merge?version={version}"))
        .header("Authorization", &auth)
        .header("Content-Type", "application/json")
        .send("{}")
        .expect("a person merges the PR");
    assert_eq!(answer.status(), 200, "{forge:?} merge by hand");
}

impl Forge {
    fn prefix_and_repo(self) -> String {
        format!("{}{}", self.prefix(), self.repo())
    }
}
