//! End-to-end reconcile scenarios (issue 5): the real binary against the sandbox forge over HTTP on
//! 127.0.0.1 and real bare repositories. `World` holds the setup; each file below is a group.

mod output;
mod scenarios;

use std::path::PathBuf;

use promoter::model::{Secret, Sha};
use promoter::sandbox::{CommitSpec, Hydration, Sandbox};

pub const TOKEN: &str = "reconcile-test-token";
pub const OWNER: &str = "acme";
pub const NAME: &str = "deploy";

/// A sandbox forge with `acme/deploy`: a DRY branch `main`, and live branches created from one
/// empty initial commit for each environment.
pub struct World {
    pub sandbox: Sandbox,
    pub dir: tempfile::TempDir,
    pub envs: Vec<String>,
    dry_commits: u32,
}

impl World {
    pub fn new(envs: &[&str]) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let sandbox =
            Sandbox::start(&dir.path().join("forge"), &Secret::new(TOKEN)).expect("sandbox");
        sandbox.create_repo(OWNER, NAME).expect("repo");
        sandbox
            .commit(
                OWNER,
                NAME,
                "main",
                &CommitSpec::new("init").file("README.md", "dry\n"),
            )
            .expect("main");
        let init = sandbox
            .commit(
                OWNER,
                NAME,
                "environment/init",
                &CommitSpec::new("init environments").file("README.md", "hydrated\n"),
            )
            .expect("init");
        let envs: Vec<String> = envs.iter().map(|e| format!("environment/{e}")).collect();
        for env in &envs {
            sandbox
                .create_branch(OWNER, NAME, env, "environment/init")
                .expect("live branch");
        }
        let _ = init;
        World {
            sandbox,
            dir,
            envs,
            dry_commits: 0,
        }
    }

    /// A new DRY commit on `main`.
    pub fn dry_change(&mut self, subject: &str) -> Sha {
        self.dry_commits += 1;
        self.sandbox
            .commit(
                OWNER,
                NAME,
                "main",
                &CommitSpec::new(subject)
                    .file("values.yaml", &format!("replicas: {}\n", self.dry_commits))
                    .at(1_700_000_000 + i64::from(self.dry_commits) * 60),
            )
            .expect("dry commit")
    }

    /// The hydrator renders `dry` for environment `env` (index) with a new manifest.
    pub fn hydrate(&self, env: usize, dry: &Sha) -> Sha {
        self.sandbox
            .hydrate(
                OWNER,
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

    pub fn hydrate_all(&self, dry: &Sha) {
        for env in 0..self.envs.len() {
            self.hydrate(env, dry);
        }
    }

    /// Writes promotion.yaml with one strategy over the environments; `extra` is inserted in the
    /// strategy (indented by 4), `env_extra(i)` in environment i (indented by 8).
    pub fn config(&self, strategy_extra: &str, env_extra: &dyn Fn(usize) -> String) -> PathBuf {
        let mut text = format!(
            "scm:\n  provider: github\n  apiUrl: {}\nrepository:\n  owner: {OWNER}\n  name: {NAME}\n  cloneUrl: {}\nstrategies:\n  - name: app\n",
            self.sandbox.api_url(),
            self.sandbox.clone_url(OWNER, NAME)
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
    pub fn promoter(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        let mut command = crate::support::promoter();
        command
            .args(args)
            .arg("-c")
            .arg(self.dir.path().join("promotion.yaml"))
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .env("PROMOTER_TOKEN", TOKEN)
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1");
        command.assert()
    }

    pub fn reconcile(&self) -> assert_cmd::assert::Assert {
        self.promoter(&["reconcile"])
    }

    pub fn tip(&self, branch: &str) -> Sha {
        self.sandbox
            .branch_tip(OWNER, NAME, branch)
            .expect("read branch")
            .unwrap_or_else(|| panic!("{branch} exists"))
    }

    /// The DRY SHA in `hydrator.metadata` at the tip of `branch`.
    pub fn live_dry(&self, env: usize) -> Option<String> {
        let tip = self.tip(&self.envs[env]);
        let text = self
            .sandbox
            .read_file(OWNER, NAME, &tip, "hydrator.metadata")
            .expect("read file")?;
        let value: serde_json::Value = serde_json::from_str(&text).expect("metadata json");
        value["drySha"].as_str().map(str::to_owned)
    }

    /// REST API requests (git smart HTTP traffic left out), as `METHOD /path`.
    pub fn api_requests(&self) -> Vec<String> {
        self.sandbox
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/api/"))
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// REST API requests whose method writes.
    pub fn writes(&self) -> Vec<String> {
        self.api_requests()
            .into_iter()
            .filter(|r| !r.starts_with("GET "))
            .collect()
    }

    /// Git fetches (`git-upload-pack` POSTs) served since the log was cleared.
    pub fn fetches(&self) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with("/git-upload-pack"))
            .count()
    }
}
