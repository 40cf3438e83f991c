//! GitHub Actions integration (issue 6, docs/design.md §6): the action's own run script in a simulated
//! Actions step against the sandbox forge, annotations, `--report-file`, and the static checks of
//! action.yml and the example workflow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::reconcile::{Forge, TOKEN, World};
use crate::support::root;

fn scan_gate(_: usize) -> String {
    String::new()
}

const SCAN: &str = "    proposedCommitStatuses:\n      - key: scan\n";

/// Parses a `$GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIMITER` heredocs.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut outputs = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for line in lines.by_ref() {
                if line == delimiter {
                    break;
                }
                value.push(line);
            }
            outputs.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            outputs.insert(name.to_owned(), value.to_owned());
        }
    }
    outputs
}

/// Replaces the sandbox's port and every full or short SHA, so the summary can be a snapshot.
fn normalise(text: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        let hex = word.chars().all(|c| c.is_ascii_hexdigit());
        match word.len() {
            40 if hex => out.push_str("<sha>"),
            7 if hex => out.push_str("<short>"),
            _ => out.push_str(word),
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    let mut result = String::new();
    let mut rest = out.as_str();
    while let Some(at) = rest.find("127.0.0.1:") {
        let (before, after) = rest.split_at(at + "127.0.0.1:".len());
        result.push_str(before);
        result.push_str("PORT");
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    result.push_str(rest);
    result
}

struct Step {
    outputs: PathBuf,
    summary: PathBuf,
    runner_temp: PathBuf,
}

/// Runs `bash action/run.sh` as the composite step would, with the inputs in `env:` variables.
fn run_action_step(world: &World, step: &Step) -> assert_cmd::assert::Assert {
    let promoter = Path::new(assert_cmd::cargo::cargo_bin!("promoter"));
    let bin = promoter.parent().expect("the binary is in a directory");
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut command = assert_cmd::Command::new("bash");
    command
        .arg(root().join("action/run.sh"))
        .env_clear()
        .current_dir(world.dir.path())
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_OUTPUT", &step.outputs)
        .env("GITHUB_STEP_SUMMARY", &step.summary)
        .env("GITHUB_ACTION_PATH", root())
        .env("RUNNER_TEMP", &step.runner_temp)
        .env("INPUT_CONFIG", "promotion.yaml")
        .env("INPUT_DRY_RUN", "false")
        .env("INPUT_ARGS", "--strategy app")
        .env("PROMOTER_TOKEN", TOKEN)
        .env("PROMOTER_CACHE_DIR", world.dir.path().join("cache"))
        .env("HOME", world.dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1");
    command.assert()
}

#[test]
fn the_action_step_writes_outputs_a_report_and_a_summary_row_per_environment() {
    let mut world = World::new(Forge::Github, &["dev", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(SCAN, &scan_gate);
    let runner_temp = world.dir.path().join("runner-temp");
    std::fs::create_dir(&runner_temp).unwrap();
    let step = Step {
        outputs: world.dir.path().join("github-output"),
        summary: world.dir.path().join("step-summary.md"),
        runner_temp: runner_temp.clone(),
    };

    // First pass opens the PRs (a write); the second finds them open and waiting on `scan`.
    let first = run_action_step(&world, &step).success();
    let (stdout, stderr) = crate::reconcile::output(&first);
    let outputs = parse_outputs(&std::fs::read_to_string(&step.outputs).unwrap());
    assert_eq!(outputs["changed"], "true", "{stdout}{stderr}");
    std::fs::remove_file(&step.outputs).unwrap();
    std::fs::remove_file(&step.summary).unwrap();

    run_action_step(&world, &step).success();
    let outputs = parse_outputs(&std::fs::read_to_string(&step.outputs).unwrap());
    assert_eq!(outputs["changed"], "false", "{outputs:?}");
    let report_path = PathBuf::from(&outputs["report"]);
    assert_eq!(report_path, runner_temp.join("promoter-report.json"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    assert_eq!(report["schemaVersion"], 1);
    assert_eq!(report["mode"], "reconcile");
    let environments: serde_json::Value = serde_json::from_str(&outputs["environments"]).unwrap();
    let environments = environments.as_array().unwrap();
    assert_eq!(environments.len(), 2);
    for (env, branch) in environments
        .iter()
        .zip(["environment/dev", "environment/prod"])
    {
        assert_eq!(env["branch"], branch);
        assert_eq!(env["strategy"], "app");
        assert_eq!(env["phase"], "pending");
        assert_eq!(env["proposedDry"], dry.as_str());
        assert!(
            env["pullRequest"].as_str().unwrap().contains("/pull/"),
            "{env}"
        );
    }

    let summary = std::fs::read_to_string(&step.summary).unwrap();
    for (env, branch) in world.envs.iter().enumerate() {
        let number = world.open_pulls_of(env)[0].number;
        let row = summary
            .lines()
            .find(|l| l.starts_with(&format!("| `{branch}` |")))
            .unwrap_or_else(|| panic!("a row for {branch}:\n{summary}"));
        assert!(row.contains(&format!("[#{number}](")), "{row}");
        assert!(row.contains(&format!("/pull/{number})")), "{row}");
    }
    insta::assert_snapshot!("step-summary", normalise(&summary));
}

#[test]
fn in_actions_a_missing_staging_branch_is_an_error_annotation_on_stdout() {
    let mut world = World::new(Forge::Github, &["dev", "staging", "prod"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate(0, &dry);
    world.hydrate(2, &dry);
    world.config("", &|_| String::new());

    let assert = world
        .command(&["reconcile"], TOKEN)
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .code(1);
    let (stdout, _) = crate::reconcile::output(&assert);
    let errors: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 1, "{stdout}");
    assert!(
        errors[0].starts_with(
            "::error title=promoter%3A environment/staging failed::environment/staging (app): "
        ),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("environment/staging-next"),
        "{}",
        errors[0]
    );
}

#[test]
fn in_actions_a_failing_gate_is_a_warning_on_stderr_when_stdout_is_json() {
    let mut world = World::new(Forge::Github, &["dev"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    world.config(SCAN, &scan_gate);
    world.reconcile().success();
    world
        .sandbox
        .set_status(
            crate::reconcile::OWNER,
            crate::reconcile::NAME,
            &world.staging_tip(0),
            "scan",
            "failure",
            "2 critical findings",
        )
        .unwrap();

    let report_file = world.dir.path().join("reports/report.json");
    std::fs::create_dir(world.dir.path().join("reports")).unwrap();
    let assert = world
        .command(
            &[
                "reconcile",
                "--output",
                "json",
                "--report-file",
                report_file.to_str().unwrap(),
            ],
            TOKEN,
        )
        .env("GITHUB_ACTIONS", "true")
        .assert()
        .success();
    let (stdout, stderr) = crate::reconcile::output(&assert);
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("stdout is only JSON");
    assert_eq!(
        report["strategies"][0]["environments"][0]["summary"]["phase"],
        "blocked"
    );
    assert_eq!(std::fs::read_to_string(&report_file).unwrap(), stdout);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("::warning"))
        .collect();
    assert_eq!(
        warnings,
        vec![
            "::warning title=promoter%3A gate scan failing::environment/dev (app): proposed gate `scan` is failing: 2 critical findings"
        ],
        "{stderr}"
    );

    // Text output carries the annotation on stdout instead; outside Actions there is none.
    let (stdout, _) = crate::reconcile::output(
        &world
            .command(&["status"], TOKEN)
            .env("GITHUB_ACTIONS", "true")
            .assert()
            .success(),
    );
    assert!(
        stdout.contains("\n::warning title=promoter%3A gate scan failing::"),
        "{stdout}"
    );
    let (stdout, stderr) = crate::reconcile::output(&world.promoter(&["status"]).success());
    assert!(
        !format!("{stdout}{stderr}").contains("::warning"),
        "{stdout}"
    );
}

fn yaml(path: &str) -> serde_yaml::Value {
    serde_yaml::from_str(&std::fs::read_to_string(root().join(path)).unwrap())
        .unwrap_or_else(|e| panic!("{path} is YAML: {e}"))
}

/// Every `inputs.NAME` in `text` (prose like `inputs.*` has no name and is left out).
fn input_references(text: &str) -> Vec<String> {
    text.match_indices("inputs.")
        .map(|(at, _)| {
            text[at + "inputs.".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                .collect::<String>()
        })
        .filter(|name| !name.is_empty())
        .collect()
}

#[test]
fn the_action_reads_only_declared_inputs_and_never_templates_them_into_scripts() {
    let action = yaml("action.yml");
    let inputs: Vec<String> = action["inputs"]
        .as_mapping()
        .expect("inputs")
        .keys()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    for name in ["config", "token", "dry-run", "args", "version"] {
        assert!(inputs.iter().any(|i| i == name), "input {name}");
    }
    let text = std::fs::read_to_string(root().join("action.yml")).unwrap();
    let references = input_references(&text);
    assert!(references.len() >= 5, "{references:?}");
    for reference in references {
        assert!(
            inputs.contains(&reference),
            "inputs.{reference} is not declared"
        );
    }
    let steps = action["runs"]["steps"].as_sequence().expect("steps");
    assert_eq!(action["runs"]["using"], "composite");
    for step in steps {
        if let Some(run) = step["run"].as_str() {
            assert!(!run.contains("${{"), "a run: expands an expression: {run}");
        }
    }
    for output in ["changed", "report", "environments"] {
        let value = action["outputs"][output]["value"].as_str().unwrap();
        assert_eq!(value, format!("${{{{ steps.run.outputs.{output} }}}}"));
    }

    let workflow = yaml("examples/github-workflow.yml");
    let mut used = 0;
    for job in workflow["jobs"].as_mapping().unwrap().values() {
        for step in job["steps"].as_sequence().unwrap() {
            if let Some(with) = step["with"].as_mapping()
                && !step["uses"].as_str().unwrap().starts_with("actions/")
            {
                used += 1;
                for key in with.keys() {
                    let key = key.as_str().unwrap();
                    assert!(inputs.iter().any(|i| i == key), "with: {key} is no input");
                }
            }
        }
    }
    assert_eq!(used, 1, "the workflow uses the action once");
    assert_eq!(workflow["concurrency"]["cancel-in-progress"], false);
    let permissions = &workflow["permissions"];
    for (scope, level) in [
        ("contents", "write"),
        ("pull-requests", "write"),
        ("statuses", "write"),
        ("checks", "read"),
    ] {
        assert_eq!(permissions[scope], level, "{scope}");
    }
    let on = &workflow["on"];
    assert_eq!(on["schedule"][0]["cron"], "*/5 * * * *");
    assert_eq!(on["push"]["branches"][0], "environment/**");
    for event in ["status", "check_suite", "workflow_dispatch"] {
        assert!(on.as_mapping().unwrap().contains_key(event), "on: {event}");
    }
}

/// A release directory for `file://` downloads holding `promoter-v9.9.9-x86_64-unknown-linux-gnu`
/// as the release workflow packages it (`action/package.sh`, a script standing in for the binary),
/// its `.sha256` file optionally made wrong.
fn fake_release(dir: &Path, checksum_matches: bool) -> PathBuf {
    let build = dir.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let binary = build.join("promoter-built");
    std::fs::write(&binary, "#!/bin/sh\necho promoter 9.9.9\n").unwrap();
    std::fs::set_permissions(&binary, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let release = dir.join("server/acme/promoter/releases/download/v9.9.9");
    let packaged = assert_cmd::Command::new("bash")
        .arg(root().join("action/package.sh"))
        .arg(&binary)
        .arg("v9.9.9")
        .arg("x86_64-unknown-linux-gnu")
        .arg(&release)
        .assert()
        .success();
    let (stdout, _) = crate::reconcile::output(&packaged);
    let asset = release.join("promoter-v9.9.9-x86_64-unknown-linux-gnu.tar.gz");
    assert_eq!(stdout.trim_end(), asset.display().to_string());
    let sum_file = asset.with_extension("gz.sha256");
    let line = std::fs::read_to_string(&sum_file).unwrap();
    assert!(
        line.ends_with("  promoter-v9.9.9-x86_64-unknown-linux-gnu.tar.gz\n"),
        "{line}"
    );
    if !checksum_matches {
        std::fs::write(&sum_file, format!("{}{}", "0".repeat(64), &line[64..])).unwrap();
    }
    dir.join("server")
}

fn run_install(dir: &Path, server: &Path) -> (assert_cmd::assert::Assert, PathBuf) {
    let runner_temp = dir.join("runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let github_path = dir.join("github-path");
    let assert = assert_cmd::Command::new("bash")
        .arg(root().join("action/install.sh"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("RUNNER_TEMP", &runner_temp)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64")
        .env("GITHUB_PATH", &github_path)
        .env("GITHUB_SERVER_URL", format!("file://{}", server.display()))
        .env("PROMOTER_REPOSITORY", "acme/promoter")
        .env("INPUT_VERSION", "9.9.9")
        .assert();
    (assert, github_path)
}

#[test]
fn the_install_script_puts_a_release_binary_on_path_after_checking_its_sha256() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_release(dir.path(), true);
    let (assert, github_path) = run_install(dir.path(), &server);
    let (stdout, stderr) = crate::reconcile::output(&assert.success());
    assert!(stdout.contains("promoter 9.9.9"), "{stdout}{stderr}");
    let added = std::fs::read_to_string(&github_path).unwrap();
    let bin = PathBuf::from(added.trim_end());
    assert_eq!(bin, dir.path().join("runner-temp/promoter-bin/bin"));
    assert!(bin.join("promoter").is_file());
}

#[test]
fn the_install_script_refuses_a_release_whose_checksum_does_not_match() {
    let dir = tempfile::tempdir().unwrap();
    let server = fake_release(dir.path(), false);
    let (assert, github_path) = run_install(dir.path(), &server);
    let (stdout, _) = crate::reconcile::output(&assert.code(1));
    assert!(
        stdout.contains("::error title=promoter::checksum mismatch for promoter-v9.9.9-x86_64-unknown-linux-gnu.tar.gz"),
        "{stdout}"
    );
    assert!(!github_path.exists(), "nothing was put on PATH");
    assert!(
        !dir.path()
            .join("runner-temp/promoter-bin/bin/promoter")
            .exists(),
        "nothing was unpacked"
    );
}

/// The `case` arms of install.sh that map a runner to a target triple.
fn install_targets() -> BTreeSet<String> {
    let script = std::fs::read_to_string(root().join("action/install.sh")).unwrap();
    script
        .lines()
        .filter_map(|line| line.trim().split_once(") target="))
        .map(|(_, target)| target.trim_end_matches(" ;;").to_owned())
        .collect()
}

#[test]
fn the_release_workflow_builds_every_target_the_install_script_downloads() {
    let workflow = yaml(".github/workflows/release.yml");
    let built: BTreeSet<String> = workflow["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|entry| entry["target"].as_str().unwrap().to_owned())
        .collect();
    // Plus the static musl build, for images without glibc; runners get the gnu one.
    let mut downloaded = install_targets();
    assert_eq!(downloaded.len(), 4);
    downloaded.insert("x86_64-unknown-linux-musl".to_owned());
    assert_eq!(built, downloaded);
    let steps = workflow["jobs"]["build"]["steps"].as_sequence().unwrap();
    let scripts: Vec<&str> = steps.iter().filter_map(|s| s["run"].as_str()).collect();
    assert!(
        scripts.iter().any(|s| s.contains(
            "action/package.sh \"target/$TARGET/release/promoter\" \"$TAG\" \"$TARGET\""
        )),
        "{scripts:?}"
    );
    // Values reach the scripts through env:, never templated into run: (template injection).
    for script in workflow["jobs"]["create"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .chain(steps)
        .filter_map(|s| s["run"].as_str())
    {
        assert!(!script.contains("${{"), "{script}");
    }
}
