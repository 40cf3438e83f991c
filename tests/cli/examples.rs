//! The examples under examples/ that no other module loads: the GitLab CI job and the sample
//! hydrator (run for real against a bare `origin`), plus the rule that every example file is
//! loaded by some test.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use promoter::{parse_metadata, parse_note};

use crate::support::root;

/// Every file under examples/ and the test module that loads it. A new example without an entry
/// here fails `every_example_file_is_loaded_by_a_test`.
const LOADED_BY: &[(&str, &str)] = &[
    ("examples/promotion.yaml", "config"),
    ("examples/promotion.full.yaml", "config"),
    ("examples/github-workflow.yml", "actions"),
    ("examples/gitlab-ci.yml", "examples"),
    ("examples/gitlab-ci-parallel.yml", "examples"),
    ("examples/github-sharded-workflow.yml", "examples"),
    ("examples/gitea-workflow.yml", "gitea"),
    ("examples/bitbucket-pipelines.yml", "bitbucket"),
    ("examples/azure-pipelines.yml", "examples"),
    ("examples/bitbucket-server-Jenkinsfile", "examples"),
    ("examples/hydrator/hydrate.sh", "examples"),
    ("examples/hydrator/github-workflow.yml", "examples"),
];

fn files_under(dir: &Path, found: &mut Vec<String>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(&path, found);
        } else {
            let relative = path.strip_prefix(root()).unwrap();
            found.push(relative.to_str().unwrap().replace('\\', "/"));
        }
    }
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&fs::read_to_string(root().join(path)).unwrap())
        .unwrap_or_else(|e| panic!("{path} is YAML: {e}"))
}

#[test]
fn every_example_file_is_loaded_by_a_test() {
    let mut found = Vec::new();
    files_under(&root().join("examples"), &mut found);
    found.sort();
    for file in &found {
        assert!(
            LOADED_BY.iter().any(|(path, _)| path == file),
            "{file} is not loaded by any test: load it and add it to LOADED_BY"
        );
    }
    for (path, module) in LOADED_BY {
        assert!(
            found.iter().any(|file| file == path),
            "{path} (loaded by tests/cli/{module}.rs) is not under examples/"
        );
        // config.rs picks the promotion configs by their schema line; actions.rs names its file.
        let text = fs::read_to_string(root().join(path)).unwrap();
        let test = fs::read_to_string(root().join(format!("tests/cli/{module}.rs"))).unwrap();
        let loaded = match *module {
            "config" => text
                .lines()
                .next()
                .unwrap_or_default()
                .contains("$schema=../docs/promotion.schema.json"),
            "examples" => true,
            _ => test.contains(path),
        };
        assert!(loaded, "tests/cli/{module}.rs does not load {path}");
    }
}

#[test]
fn the_gitlab_job_runs_reconcile_on_schedule_one_at_a_time_and_keeps_the_report() {
    let ci = yaml("examples/gitlab-ci.yml");
    let job = &ci["promoter"];
    assert!(job.is_mapping(), "no `promoter` job");
    assert_eq!(job["resource_group"], "promoter");

    let rules: Vec<&str> = job["rules"]
        .as_sequence()
        .expect("rules")
        .iter()
        .map(|rule| rule["if"].as_str().unwrap())
        .collect();
    assert!(
        rules.contains(&r#"$CI_PIPELINE_SOURCE == "schedule""#),
        "{rules:?}"
    );
    assert!(
        rules.contains(&r#"$CI_PIPELINE_SOURCE == "web""#),
        "{rules:?}"
    );

    let script: Vec<&str> = job["script"]
        .as_sequence()
        .expect("script")
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    let reconcile = script
        .iter()
        .find(|line| line.starts_with("promoter reconcile"))
        .unwrap_or_else(|| panic!("no `promoter reconcile` line in {script:?}"));
    assert!(
        reconcile.contains("--report-file promoter-report.json"),
        "{reconcile}"
    );
    let artifacts = job["artifacts"]["paths"].as_sequence().expect("artifacts");
    assert!(artifacts.iter().any(|p| p == "promoter-report.json"));

    // The cache keeps PROMOTER_CACHE_DIR, which must sit under the project directory.
    let cache_dir = job["variables"]["PROMOTER_CACHE_DIR"].as_str().unwrap();
    let kept = job["cache"]["paths"][0].as_str().unwrap();
    assert_eq!(
        cache_dir,
        format!("$CI_PROJECT_DIR/{}", kept.trim_end_matches('/'))
    );

    // Release archives are checked before use, and the token is never pasted into the file.
    let text = fs::read_to_string(root().join("examples/gitlab-ci.yml")).unwrap();
    assert!(text.contains("sha256sum --check"), "checksum not verified");
    assert!(text.contains("GITLAB_TOKEN") && text.contains("CI_JOB_TOKEN"));
    assert!(!text.contains("$GITLAB_TOKEN") && !text.contains("${GITLAB_TOKEN}"));
}

#[test]
fn the_azure_pipeline_runs_reconcile_on_a_schedule_with_the_token_mapped_into_the_step() {
    let pipeline = yaml("examples/azure-pipelines.yml");
    assert_eq!(pipeline["trigger"], "none");
    let schedule = &pipeline["schedules"][0];
    assert!(schedule["cron"].as_str().is_some(), "no cron schedule");
    assert_eq!(schedule["always"], true, "gates change without commits");
    let steps = pipeline["steps"].as_sequence().expect("steps");
    let reconcile = steps
        .iter()
        .find(|step| {
            step["bash"]
                .as_str()
                .is_some_and(|run| run.starts_with("promoter reconcile"))
        })
        .expect("a `promoter reconcile` step");
    assert!(
        reconcile["bash"]
            .as_str()
            .unwrap()
            .contains("--report-file"),
        "{reconcile:?}"
    );
    // The provider's default token variable, from the pipeline's own token, through env only.
    assert_eq!(
        reconcile["env"]["AZURE_DEVOPS_TOKEN"],
        "$(System.AccessToken)"
    );
    let text = fs::read_to_string(root().join("examples/azure-pipelines.yml")).unwrap();
    assert!(text.contains("sha256sum --check"), "checksum not verified");
    assert!(!text.contains("$AZURE_DEVOPS_TOKEN") && !text.contains("$(AZURE_DEVOPS_TOKEN)"));
}

#[test]
fn the_hydrator_workflow_runs_the_script_on_pushes_to_main() {
    let workflow = yaml("examples/hydrator/github-workflow.yml");
    let branches = workflow["on"]["push"]["branches"].as_sequence().unwrap();
    assert_eq!(branches.len(), 1);
    assert_eq!(branches[0], "main");
    assert_eq!(workflow["permissions"]["contents"], "write");
    let steps = workflow["jobs"]["hydrate"]["steps"].as_sequence().unwrap();
    let runs: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        runs.iter().any(|run| run.contains("hydrate.sh")),
        "{runs:?}"
    );
    for run in runs {
        assert!(!run.contains("${{"), "a run: expands an expression: {run}");
    }
}

/// A temporary directory holding a bare `origin` and a DRY clone, and git run with a fixed
/// identity and clock and no user or system config.
struct Repos {
    dir: tempfile::TempDir,
}

impl Repos {
    fn new() -> Self {
        let repos = Repos {
            dir: tempfile::tempdir().unwrap(),
        };
        repos.git(&["init", "--quiet", "--bare", "-b", "main", "origin.git"]);
        repos.git(&["init", "--quiet", "-b", "main", "dry"]);
        repos.dry(&["remote", "add", "origin", "../origin.git"]);
        repos
    }

    fn origin(&self) -> PathBuf {
        self.dir.path().join("origin.git")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "Dee Veloper")
            .env("GIT_AUTHOR_EMAIL", "dee@example.com")
            .env("GIT_AUTHOR_DATE", "2025-03-01T10:00:00+01:00")
            .env("GIT_COMMITTER_NAME", "hydrator")
            .env("GIT_COMMITTER_EMAIL", "hydrator@example.com")
            .env("GIT_COMMITTER_DATE", "2025-03-01T10:05:00+01:00")
            .current_dir(self.dir.path());
        command
    }

    fn run(mut command: Command) -> String {
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "{command:?} failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap().trim().to_owned()
    }

    fn git(&self, args: &[&str]) -> String {
        let mut command = self.command("git");
        command.args(args);
        Self::run(command)
    }

    fn dry(&self, args: &[&str]) -> String {
        let mut command = self.command("git");
        command.arg("-C").arg("dry").args(args);
        Self::run(command)
    }

    /// `git` against the bare origin, the way promoter sees it.
    fn at_origin(&self, args: &[&str]) -> String {
        let mut command = self.command("git");
        command.arg("--git-dir").arg(self.origin()).args(args);
        Self::run(command)
    }

    fn write(&self, path: &str, text: &str) {
        let path = self.dir.path().join("dry").join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// Commits everything in the DRY clone and pushes it to origin's main; returns the DRY SHA.
    fn dry_commit(&self, message: &str) -> String {
        self.dry(&["add", "--all"]);
        self.dry(&["commit", "--quiet", "-m", message]);
        self.dry(&["push", "--quiet", "origin", "main"]);
        self.dry(&["rev-parse", "HEAD"])
    }

    fn hydrate(&self) -> String {
        let mut command = self.command("bash");
        command
            .arg(root().join("examples/hydrator/hydrate.sh"))
            .current_dir(self.dir.path().join("dry"));
        Self::run(command)
    }

    fn tip(&self, branch: &str) -> String {
        self.at_origin(&["rev-parse", &format!("refs/heads/{branch}")])
    }

    fn show(&self, branch: &str, path: &str) -> String {
        self.at_origin(&["show", &format!("refs/heads/{branch}:{path}")])
    }
}

#[test]
fn the_sample_hydrator_commits_changed_environments_and_notes_unchanged_ones() {
    let repos = Repos::new();
    repos.write("base/namespace.yaml", "kind: Namespace\n");
    repos.write("envs/dev/replicas.yaml", "replicas: 1\n");
    repos.write("envs/staging/replicas.yaml", "replicas: 2\n");
    let first = repos.dry_commit("Add the app\n\nWith a \"quoted\" body\tand a tab.");

    let log = repos.hydrate();
    assert!(log.contains("hydrate: dev: environment/dev-next"), "{log}");
    for (environment, replicas) in [("dev", "replicas: 1"), ("staging", "replicas: 2")] {
        let branch = format!("environment/{environment}-next");
        let metadata = repos.show(&branch, "hydrator.metadata");
        let parsed = parse_metadata(metadata.as_bytes()).unwrap_or_else(|why| {
            panic!("promoter rejects {branch}'s metadata: {why}\n{metadata}")
        });
        assert_eq!(parsed.dry_sha.to_string(), first);
        assert_eq!(parsed.author, "Dee Veloper <dee@example.com>");
        assert_eq!(parsed.subject, "Add the app");
        assert_eq!(parsed.body, "With a \"quoted\" body\tand a tab.");
        assert!(
            parsed.repo_url.ends_with("origin.git"),
            "{}",
            parsed.repo_url
        );
        let date = parsed.date.expect("the DRY commit's date");
        assert_eq!(date.unix_timestamp(), 1_740_819_600, "2025-03-01T09:00:00Z");
        assert_eq!(repos.show(&branch, "replicas.yaml"), replicas);
        assert_eq!(repos.show(&branch, "namespace.yaml"), "kind: Namespace");
    }
    let dev_before = repos.tip("environment/dev-next");
    let staging_before = repos.tip("environment/staging-next");

    // A DRY change to dev's input only.
    repos.write("envs/dev/replicas.yaml", "replicas: 3\n");
    let second = repos.dry_commit("Scale dev");
    let log = repos.hydrate();
    assert!(
        log.contains("hydrate: staging: manifests unchanged"),
        "{log}"
    );

    let dev_after = repos.tip("environment/dev-next");
    assert_ne!(dev_after, dev_before, "dev got no new commit");
    assert_eq!(
        repos.at_origin(&["rev-parse", &format!("{dev_after}^")]),
        dev_before,
        "dev's new commit is not on top of the old tip"
    );
    let dev_metadata = repos.show("environment/dev-next", "hydrator.metadata");
    assert_eq!(
        parse_metadata(dev_metadata.as_bytes())
            .unwrap()
            .dry_sha
            .to_string(),
        second
    );
    assert_eq!(
        repos.show("environment/dev-next", "replicas.yaml"),
        "replicas: 3"
    );

    assert_eq!(
        repos.tip("environment/staging-next"),
        staging_before,
        "staging got a commit though its manifests did not change"
    );
    let note = repos.at_origin(&[
        "notes",
        "--ref",
        "hydrator.metadata",
        "show",
        "environment/staging-next",
    ]);
    assert_eq!(note, format!(r#"{{"drySha": "{second}"}}"#));
    assert_eq!(
        parse_note(note.as_bytes()).unwrap().dry_sha.to_string(),
        second
    );
    // The temporary worktrees are gone again.
    assert_eq!(repos.dry(&["worktree", "list"]).lines().count(), 1);
    // The hydrated commits still name the first DRY commit: the note is what moves staging on.
    let staging_metadata = repos.show("environment/staging-next", "hydrator.metadata");
    assert_eq!(
        parse_metadata(staging_metadata.as_bytes())
            .unwrap()
            .dry_sha
            .to_string(),
        first
    );
}

#[test]
fn the_parallel_gitlab_job_overrides_the_included_one_per_shard() {
    let ci = yaml("examples/gitlab-ci-parallel.yml");
    assert_eq!(ci["include"][0]["local"], "ci/promoter.yml");
    let base = yaml("examples/gitlab-ci.yml");
    let job = &ci["promoter"];
    assert!(
        base["promoter"].is_mapping(),
        "it overrides the job of the same name"
    );
    assert!(job["parallel"].as_u64().unwrap() > 1);
    for shard_scoped in [
        job["resource_group"].as_str().unwrap(),
        job["cache"]["key"].as_str().unwrap(),
        job["artifacts"]["paths"][0].as_str().unwrap(),
    ] {
        assert!(shard_scoped.contains("$CI_NODE_INDEX"), "{shard_scoped}");
    }
    let script = job["script"][0].as_str().unwrap();
    assert!(script.starts_with("promoter reconcile"), "{script}");
    // promoter reads CI_NODE_INDEX/CI_NODE_TOTAL itself.
    assert!(!script.contains("--shard"), "{script}");
    assert!(script.contains(job["artifacts"]["paths"][0].as_str().unwrap()));
}

#[test]
fn the_sharded_workflow_gives_each_matrix_job_one_shard_of_as_many() {
    let workflow = yaml("examples/github-sharded-workflow.yml");
    let job = &workflow["jobs"]["promote"];
    let shards = job["strategy"]["matrix"]["shard"].as_sequence().unwrap();
    let expected: Vec<u64> = (1..=shards.len() as u64).collect();
    let listed: Vec<u64> = shards.iter().map(|s| s.as_u64().unwrap()).collect();
    assert_eq!(listed, expected);
    assert_eq!(job["strategy"]["fail-fast"], false);
    assert!(
        job["concurrency"]["group"]
            .as_str()
            .unwrap()
            .contains("${{ matrix.shard }}")
    );
    let args = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find_map(|step| step["with"]["args"].as_str())
        .unwrap();
    assert_eq!(
        args,
        format!("--shard ${{{{ matrix.shard }}}}/{}", shards.len())
    );
}

/// The Jenkins pipeline for Bitbucket Data Center runs one pass on a schedule, takes the token
/// from a Jenkins credential (never a literal) into PROMOTER_TOKEN, and keeps the git cache.
#[test]
fn the_bitbucket_server_jenkinsfile_runs_a_pass_with_the_token_from_a_credential() {
    let text = fs::read_to_string(root().join("examples/bitbucket-server-Jenkinsfile")).unwrap();
    let code: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.starts_with("//"))
        .collect();
    let has = |needle: &str| code.iter().any(|line| line.contains(needle));
    assert!(has("PROMOTER_TOKEN = credentials('"), "{text}");
    assert!(has("sh 'promoter reconcile"), "{text}");
    assert!(has("triggers { cron('"), "{text}");
    assert!(has("disableConcurrentBuilds()"), "{text}");
    assert!(has("PROMOTER_CACHE_DIR"), "{text}");
    // Braces balance: a pasted pipeline that Jenkins would refuse to parse fails here first.
    let opened = text.matches('{').count();
    assert_eq!(opened, text.matches('}').count(), "{text}");
}
