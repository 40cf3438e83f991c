//! The one end-to-end world of the integration tests (reconcile scenarios, GitLab, Gitea, GitHub
//! App, CI log sections, Actions, insight): a sandbox forge on 127.0.0.1 with a seeded bare
//! repository ([`seed`]), promotion.yaml, promoter run as the binary ([`World::promoter`]) or in
//! this process on a test clock ([`World::promoter_on`]), and what the forge saw (the exact
//! [`Api`] count). The forge dialects are `reconcile/forge.rs`'s [`Forge`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use sandbox::{CommitSpec, Hydration, PullRecord, PullState, Sandbox};
use sandbox::{Sha, Token};

use crate::reconcile::{Forge, Kind};
use crate::support::clock::{InProcess, TestClock, run_in_process};

/// Random-looking, as real tokens are: promoter redacts every 8-character piece of it, so a word
/// like `reconcile` in a test token would be taken out of the reports.
pub(crate) const TOKEN: &str = "ghp_rT0k3nF0rR3c0nc1l3T3sts9f3b27c4e1d8";
pub(crate) const OWNER: &str = "acme";
pub(crate) const NAME: &str = "deploy";

/// Seeds `owner/name` on `sandbox`: a DRY branch `main` with one commit, and a live branch
/// `environment/<env>` for each of `envs`, all from one initial commit; returns the live branches.
/// The one setup of every end-to-end test's forge.
fn seed(sandbox: &Sandbox, owner: &str, name: &str, envs: &[&str]) -> Vec<String> {
    sandbox.create_repo(owner, name).expect("repo");
    sandbox
        .commit(
            owner,
            name,
            "main",
            &CommitSpec::new("init").file("README.md", "dry\n"),
        )
        .expect("main");
    sandbox
        .commit(
            owner,
            name,
            "environment/init",
            &CommitSpec::new("init environments").file("README.md", "hydrated\n"),
        )
        .expect("init");
    let envs: Vec<String> = envs.iter().map(|e| format!("environment/{e}")).collect();
    for env in &envs {
        sandbox
            .create_branch(owner, name, env, "environment/init")
            .expect("live branch");
    }
    envs
}

/// A sandbox forge with `acme/deploy`: a DRY branch `main`, and live branches created from one
/// empty initial commit for each environment.
pub(crate) struct World {
    pub forge: Forge,
    /// The repository's owner: [`OWNER`] unless made [`World::in_namespace`].
    pub owner: &'static str,
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub envs: Vec<String>,
    dry_commits: u32,
}

impl World {
    pub(crate) fn new(forge: Forge, envs: &[&str]) -> World {
        World::in_namespace(forge, OWNER, envs)
    }

    /// [`World::new`] with the repository `deploy` under `owner` (e.g. a GitLab group path).
    pub(crate) fn in_namespace(forge: Forge, owner: &'static str, envs: &[&str]) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox =
            Sandbox::start(&dir.path().join("forge"), &Token::new(TOKEN)).expect("sandbox");
        let envs = seed(&sandbox, owner, NAME, envs);
        World {
            forge,
            owner,
            sandbox,
            dir,
            envs,
            dry_commits: 0,
        }
    }

    /// A new DRY commit on `main`.
    pub(crate) fn dry_change(&mut self, subject: &str) -> Sha {
        self.dry_commits += 1;
        self.sandbox
            .commit(
                self.owner,
                NAME,
                "main",
                &CommitSpec::new(subject)
                    .file("values.yaml", &format!("replicas: {}\n", self.dry_commits))
                    .at(1_700_000_000 + i64::from(self.dry_commits) * 60),
            )
            .expect("dry commit")
    }

    /// The hydrator renders `dry` for environment `env` (index) with a new manifest.
    pub(crate) fn hydrate(&self, env: usize, dry: &Sha) -> Sha {
        self.sandbox
            .hydrate(
                self.owner,
                NAME,
                &Hydration::new(&self.envs[env], dry)
                    .file(
                        "manifest.yaml",
                        &format!("dry: {dry}\nenv: {}\n", self.envs[env]),
                    )
                    .subject("hydrate"),
            )
            .expect("hydrate")
    }

    pub(crate) fn hydrate_all(&self, dry: &Sha) {
        for env in 0..self.envs.len() {
            self.hydrate(env, dry);
        }
    }

    /// Writes promotion.yaml with one strategy over the environments; `extra` is inserted in the
    /// strategy (indented by 4), `env_extra(i)` in environment i (indented by 8).
    pub(crate) fn config(
        &self,
        strategy_extra: &str,
        env_extra: &dyn Fn(usize) -> String,
    ) -> PathBuf {
        let mut text = format!(
            "scm:\n  provider: {}\n  apiUrl: {}\nrepository:\n  owner: {}\n  name: {NAME}\n  cloneUrl: {}\nstrategies:\n  - name: app\n",
            self.forge.provider(),
            self.forge.api_url(&self.sandbox),
            self.forge.config_owner(self.owner),
            self.sandbox.clone_url(self.owner, NAME)
        );
        text.push_str(strategy_extra);
        text.push_str("    environments:\n");
        for (i, env) in self.envs.iter().enumerate() {
            text.push_str(&format!("      - branch: {env}\n"));
            text.push_str(&env_extra(i));
        }
        let path = self.dir.path().join("promotion.yaml");
        std::fs::write(&path, text).expect("write config");
        path
    }

    /// `promoter <args> -c <config> --cache-dir <dir>` with only the token in the environment.
    pub(crate) fn promoter(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.promoter_with_token(args, TOKEN)
    }

    /// [`World::promoter`] with another token in `PROMOTER_TOKEN`.
    pub(crate) fn promoter_with_token(
        &self,
        args: &[&str],
        token: &str,
    ) -> assert_cmd::assert::Assert {
        self.command(args, token).assert()
    }

    /// The command [`World::promoter_with_token`] runs, for callers that add variables.
    pub(crate) fn command(&self, args: &[&str], token: &str) -> assert_cmd::Command {
        assert_cmd::Command::from_std(self.process(args, token))
    }

    /// [`World::command`] as a plain process, for tests that wire its stdio themselves.
    pub(crate) fn process(&self, args: &[&str], token: &str) -> std::process::Command {
        self.process_with_cache(args, token, &self.dir.path().join("cache"))
    }

    /// [`World::process`] with its own git cache: another runner on another machine.
    pub(crate) fn process_with_cache(
        &self,
        args: &[&str],
        token: &str,
        cache: &std::path::Path,
    ) -> std::process::Command {
        let mut command = crate::support::promoter_process();
        command
            .args(args)
            .arg("-c")
            .arg(self.dir.path().join("promotion.yaml"))
            .arg("--cache-dir")
            .arg(cache)
            .env("PROMOTER_TOKEN", token)
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        command
    }

    pub(crate) fn reconcile(&self) -> assert_cmd::assert::Assert {
        self.promoter(&["reconcile"])
    }

    /// [`World::promoter`] run in this process on `clock`, for passes whose waits (backoff, rate
    /// limits, soak) must take no real time (docs/design.md §11 "Time in tests").
    pub(crate) fn promoter_on(&self, args: &[&str], clock: &Arc<TestClock>) -> InProcess {
        let mut argv: Vec<OsString> = args.iter().map(OsString::from).collect();
        argv.extend([
            "-c".into(),
            self.dir.path().join("promotion.yaml").into(),
            "--cache-dir".into(),
            self.dir.path().join("cache").into(),
        ]);
        let home = self.dir.path().to_string_lossy();
        run_in_process(
            &argv,
            &[("PROMOTER_TOKEN", TOKEN), ("HOME", &home)],
            &self.dir.path().join("report.json"),
            Arc::clone(clock),
        )
    }

    /// `promoter reconcile` in this process on `clock`.
    pub(crate) fn reconcile_on(&self, clock: &Arc<TestClock>) -> InProcess {
        self.promoter_on(&["reconcile"], clock)
    }

    /// Runs `promoter <args>`, asserting exit 0 and that environment 0 then has `dry` live;
    /// returns `(stdout, stderr)`.
    pub(crate) fn promotes(&self, args: &[&str], dry: &str) -> (String, String) {
        let assert = self.promoter(args);
        let (stdout, stderr) = output(&assert);
        assert_eq!(
            assert.get_output().status.code(),
            Some(0),
            "{stdout}{stderr}"
        );
        assert_eq!(self.live_dry(0).as_deref(), Some(dry), "{stdout}{stderr}");
        (stdout, stderr)
    }

    /// Someone commits straight to live branch `env`, touching the hydrated file: merging the
    /// staging branch into it now conflicts.
    pub(crate) fn hotfix_live(&self, env: usize) {
        self.sandbox
            .commit(
                self.owner,
                NAME,
                &self.envs[env],
                &CommitSpec::new("hotfix").file("manifest.yaml", "hotfix: true\n"),
            )
            .expect("hotfix");
    }

    /// The statuses the forge answered to `method path`, oldest first.
    pub(crate) fn statuses_of(&self, method: &str, path: &str) -> Vec<u16> {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(|r| r.status)
            .collect()
    }

    pub(crate) fn tip(&self, branch: &str) -> Sha {
        self.sandbox
            .branch_tip(self.owner, NAME, branch)
            .expect("read branch")
            .unwrap_or_else(|| panic!("{branch} exists"))
    }

    /// The DRY SHA in `hydrator.metadata` at the tip of `branch`.
    pub(crate) fn live_dry(&self, env: usize) -> Option<String> {
        let tip = self.tip(&self.envs[env]);
        let text = self
            .sandbox
            .read_file(self.owner, NAME, &tip, "hydrator.metadata")
            .expect("read file")?;
        let value: serde_json::Value = serde_json::from_str(&text).expect("metadata json");
        value["drySha"].as_str().map(str::to_owned)
    }

    /// REST API requests (git smart HTTP traffic left out), as `METHOD /path`.
    pub(crate) fn api_requests(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with(self.forge.prefix()))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// REST API requests whose method writes (git transfers are not API writes).
    pub(crate) fn writes(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.method != "GET" && r.path.starts_with(self.forge.prefix()))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Git fetches (`git-upload-pack` POSTs) served since the log was cleared.
    pub(crate) fn fetches(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/git-upload-pack"))
            .count()
    }

    pub(crate) fn staging(&self, env: usize) -> String {
        format!("{}-next", self.envs[env])
    }

    pub(crate) fn live_tip(&self, env: usize) -> Sha {
        self.tip(&self.envs[env])
    }

    pub(crate) fn staging_tip(&self, env: usize) -> Sha {
        self.tip(&self.staging(env))
    }

    /// The newest `(state, description)` of status `context` on `sha`.
    pub(crate) fn status(&self, sha: &Sha, context: &str) -> Option<(String, String)> {
        self.sandbox
            .statuses(self.owner, NAME, sha)
            .into_iter()
            .find(|s| s.context == context)
            .map(|s| (s.state, s.description.unwrap_or_default()))
    }

    /// `promoter-previous-environment` on environment `env`'s staging tip (its PR head).
    pub(crate) fn previous_gate(&self, env: usize) -> Option<(String, String)> {
        self.status(&self.staging_tip(env), "promoter-previous-environment")
    }

    /// A CI-reported commit status `key` = `state` on `sha`.
    pub(crate) fn report(&self, sha: &Sha, key: &str, state: &str) {
        self.sandbox
            .set_status(
                self.owner,
                NAME,
                sha,
                key,
                state,
                &format!("{key} is {state}"),
            )
            .expect("set status");
    }

    /// Every PR whose head is `env`'s staging branch in this repository.
    pub(crate) fn pulls_of(&self, env: usize) -> Vec<PullRecord> {
        let staging = self.staging(env);
        self.sandbox
            .pulls(self.owner, NAME)
            .expect("pulls")
            .into_iter()
            .filter(|p| p.head_branch == staging && p.head_repo == format!("{}/{NAME}", self.owner))
            .collect()
    }

    pub(crate) fn open_pulls_of(&self, env: usize) -> Vec<PullRecord> {
        self.pulls_of(env)
            .into_iter()
            .filter(|p| p.state == PullState::Open)
            .collect()
    }

    /// What the API log shows since the last [`World::clear`], by kind. The requests a forge
    /// needs on top of the others' are counted as part of the request they serve, each checked to
    /// be exactly where its client sends it:
    /// - Gitea answers a merge with an empty 200, so the client reads the PR once for the merge
    ///   commit (routers/api/v1/repo/pull.go): part of the merge.
    /// - Bitbucket's merge carries no head SHA, so the client reads the PR right before every
    ///   merge (the guard read) and the merge commit right after every merge answered 200 (the
    ///   second-parent check): both part of the merge. Its PR answers show 12-character source
    ///   hashes, so a lookup that found a PR, or a create, is followed by one commit read that
    ///   resolves the hash: part of that lookup or create (an update reuses the run's resolve).
    ///   Per pass that is, exactly: 1 per PR found or opened, 1 per merge sent, 1 more per merge
    ///   answered 200 (`bitbucket_requests_beyond_the_budget_are_exactly_the_guard_reads_and_resolves`
    ///   writes one pass out whole).
    pub(crate) fn api(&self) -> Api {
        let mut api = Api::default();
        // GitHub's GraphQL endpoint is beside the REST root, not under it: each query reads the
        // gates of several commits (src/scm/github/graphql.rs).
        if self.forge == Forge::Github {
            api.gate_queries = self
                .sandbox
                .requests()
                .iter()
                .filter(|r| r.path == "/api/graphql")
                .count();
        }
        // A 304 is counted under its kind like any request sent; `not_modified` says how many of
        // them were free against GitHub's rate limit.
        let requests: Vec<(String, String, u16, String)> = self
            .sandbox
            .requests()
            .into_iter()
            .filter_map(|r| {
                let path = r.path.strip_prefix(self.forge.prefix())?.to_owned();
                Some((r.method, path, r.status, r.body))
            })
            .collect();
        let mut after_merge: Option<String> = None;
        let mut after_lookup = false;
        // The hashes resolved since the last request that was not a commit read.
        let mut resolved = std::collections::BTreeSet::new();
        // The last request other than a commit read, for a commit read to say what it follows.
        let mut previous: Option<(Option<Kind>, u16)> = None;
        for (i, (method, path, status, body)) in requests.iter().enumerate() {
            let method = method.as_str();
            let path = path.as_str();
            let kind = self.forge.classify(method, path, body);
            // A listing that found several PRs is followed by one resolve per PR found: what a
            // commit read follows is the last request that was not one.
            let follows = previous;
            if kind != Some(Kind::CommitRead) {
                previous = Some((kind, *status));
                resolved.clear();
            }
            // Azure DevOps cuts descriptions in list answers, so a lookup that finds a PR with a
            // long description reads it whole: counted as part of the lookup.
            if std::mem::take(&mut after_lookup) && kind == Some(Kind::PrRead) {
                continue;
            }
            after_lookup = kind == Some(Kind::PrLookup) && self.forge.reads_after_lookup();
            if let Some(merge) = after_merge.take() {
                let read = match self.forge {
                    Forge::Bitbucket => kind == Some(Kind::CommitRead),
                    _ => kind == Some(Kind::PrRead) && self.forge.is_read_after_merge(&merge, path),
                };
                if read {
                    continue;
                }
                panic!(
                    "{merge} answered 200 on {:?} without the read that follows it",
                    self.forge
                );
            }
            if kind == Some(Kind::Merge)
                && *status == 200
                && (self.forge.reads_after_merge() || !self.forge.guards_merge_by_head())
            {
                after_merge = Some(path.to_owned());
            }
            // Bitbucket's guard read, and Bitbucket Data Center's read for the head check and the
            // version: the PR read right before its merge, counted as part of the merge.
            if kind == Some(Kind::PrRead)
                && (!self.forge.guards_merge_by_head() || self.forge.reads_before_merge())
            {
                let next = requests.get(i + 1);
                if next.is_some_and(|(m, p, _, b)| {
                    self.forge.classify(m, p, b) == Some(Kind::Merge)
                        && p.strip_suffix("/merge") == Some(path)
                }) {
                    continue;
                }
            }
            if kind == Some(Kind::CommitRead) {
                // A short hash resolved after a lookup that answered, a create that opened, or a
                // PR read that found the PR merged already.
                let resolves = self.forge.resolves_short_hashes()
                    && matches!(
                        follows,
                        Some(
                            (Some(Kind::PrLookup | Kind::PrRead), 200) | (Some(Kind::Create), 201)
                        )
                    );
                assert!(
                    resolves,
                    "GET {path} follows {follows:?}, not a lookup, create or merge on {:?}",
                    self.forge
                );
                // One resolve per PR found: the same hash read twice after one answer is waste.
                assert!(
                    resolved.insert(path.to_owned()),
                    "GET {path} twice after one answer on {:?}",
                    self.forge
                );
                continue;
            }
            match kind {
                Some(Kind::PrLookup) => api.pr_lookups += 1,
                Some(Kind::PrRead) => api.pr_reads += 1,
                Some(Kind::GateRead) => api.gate_reads += 1,
                Some(Kind::GateReadSecond) => api.gate_read_seconds += 1,
                Some(Kind::Create) => api.creates += 1,
                Some(Kind::Update) => api.updates += 1,
                Some(Kind::Merge) => api.merges += 1,
                Some(Kind::StatusWrite) => api.status_writes += 1,
                Some(Kind::CommitRead) => unreachable!("counted above"),
                None => api.other.push(format!("{method} {path} {status}")),
            }
        }
        api
    }

    /// The expected [`Api`] of a pass on this forge, without `other` requests: a gate read is
    /// two requests where the forge needs two.
    pub(crate) fn budget(
        &self,
        pr_lookups: usize,
        gate_reads: usize,
        creates: usize,
        updates: usize,
        merges: usize,
        status_writes: usize,
    ) -> Api {
        // GitHub reads the gates of three or more commits never read before in one GraphQL
        // query (src/scm/github/mod.rs, `GRAPHQL_MIN_SHAS`).
        let by_graphql = self.forge == Forge::Github && gate_reads >= 3;
        let gate_reads = if by_graphql { 0 } else { gate_reads };
        Api {
            pr_lookups,
            pr_reads: 0,
            gate_reads,
            gate_queries: usize::from(by_graphql),
            gate_read_seconds: if self.forge.paired_gate_reads() {
                gate_reads
            } else {
                0
            },
            creates,
            updates,
            merges,
            status_writes,
            other: Vec::new(),
        }
    }

    /// API requests answered `304 Not Modified` since the last [`World::clear`]: conditional
    /// reads whose answer had not changed, free against GitHub's rate limit.
    pub(crate) fn not_modified(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.status == 304 && r.path.starts_with(self.forge.prefix()))
            .count()
    }

    pub(crate) fn clear(&self) {
        self.sandbox.clear_requests();
    }

    /// The PR of `env` merged by a person through the forge's API (as user `alice`).
    pub(crate) fn merge_by_hand(&self, number: u64) {
        self.forge.merge_by_hand(&self.sandbox, number);
    }
}

/// API requests of one or more passes, by kind. A gate read is one `status_reports` call: on
/// GitHub and GitLab two requests, counted separately to prove they come in pairs.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Api {
    pub pr_lookups: usize,
    /// PRs read by number (re-reads after an ambiguous merge answer).
    pub pr_reads: usize,
    pub gate_reads: usize,
    /// GitHub GraphQL queries reading the gates of several commits at once.
    pub gate_queries: usize,
    /// Second requests of gate reads: GitHub check runs, GitLab pipelines.
    pub gate_read_seconds: usize,
    pub creates: usize,
    pub updates: usize,
    pub merges: usize,
    pub status_writes: usize,
    /// Anything else, as `METHOD path status`.
    pub other: Vec<String>,
}

impl Api {
    pub(crate) fn total(&self) -> usize {
        self.pr_lookups
            + self.pr_reads
            + self.gate_reads
            + self.gate_queries
            + self.gate_read_seconds
            + self.creates
            + self.updates
            + self.merges
            + self.status_writes
            + self.other.len()
    }
}

/// `(stdout, stderr)` of a finished command.
pub(crate) fn output(assert: &assert_cmd::assert::Assert) -> (String, String) {
    let out = assert.get_output();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
