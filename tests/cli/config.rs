//! promotion.yaml end to end: the examples, the invalid files, `promoter validate` and
//! `promoter schema`, CI-environment defaults and token precedence.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;
use promoter::{Config, ConfigErrors};

use crate::support::{data, env_table, promoter, root};

/// The files under examples/ that are promotion configs: they point editors at our schema.
fn example_configs() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml")
            )
        })
        .filter(|path| {
            let text = fs::read_to_string(path).unwrap();
            text.lines()
                .next()
                .unwrap_or_default()
                .contains("$schema=../docs/promotion.schema.json")
        })
        .collect();
    found.sort();
    found
}

fn invalid_files() -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(data("invalid"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    found.sort();
    found
}

fn parse(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigErrors> {
    promoter::parse_config(text, Path::new("promotion.yaml"), &env_table(env))
}

fn yaml_as_json(path: &Path) -> serde_json::Value {
    serde_yaml::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn every_example_config_loads_and_validates() {
    let examples = example_configs();
    assert!(
        examples.len() >= 2,
        "expected the minimal and the full example, found {examples:?}"
    );
    for path in examples {
        let loaded = promoter::load_config(&path, &env_table(&[]));
        assert!(
            loaded.is_ok(),
            "{}: {}",
            path.display(),
            loaded.unwrap_err()
        );
        promoter()
            .args(["validate", "-c"])
            .arg(&path)
            .assert()
            .success()
            .stdout(predicate::str::contains(": valid\n"));
    }
}

#[test]
fn every_example_config_matches_the_json_schema() {
    let schema: serde_json::Value = serde_json::from_str(
        &fs::read_to_string(root().join("docs/promotion.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for path in example_configs() {
        let instance = yaml_as_json(&path);
        let errors: Vec<String> = validator
            .iter_errors(&instance)
            .map(|e| e.to_string())
            .collect();
        assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    }
}

#[test]
fn the_json_schema_rejects_what_validation_rejects_structurally() {
    let schema = promoter::config_schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    for name in [
        "three-mistakes.yaml",
        "wrong-types.yaml",
        "missing-keys.yaml",
        "soak-time-on-proposed-gate.yaml",
    ] {
        let instance = yaml_as_json(&data("invalid").join(name));
        assert!(
            !validator.is_valid(&instance),
            "{name} should not match the schema"
        );
    }
}

#[test]
fn the_committed_schema_is_what_promoter_schema_prints() {
    let committed = fs::read_to_string(root().join("docs/promotion.schema.json")).unwrap();
    let output = promoter()
        .arg("schema")
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let printed = String::from_utf8(output).unwrap();
    assert_eq!(
        committed, printed,
        "docs/promotion.schema.json is stale: run `cargo run -- schema > docs/promotion.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&printed).unwrap();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
}

#[test]
fn every_invalid_file_fails_with_line_and_column() {
    let files = invalid_files();
    assert!(files.len() >= 10, "{files:?}");
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        let text = fs::read_to_string(&path).unwrap();
        let errors = promoter::parse_config(&text, Path::new(&name), &env_table(&[]))
            .expect_err(&format!("{name} should be refused"));
        for problem in &errors.problems {
            assert!(
                problem.pos.line >= 1 && problem.pos.column >= 1,
                "{name}: {problem:?}"
            );
        }
        let rendered = errors.to_string();
        assert!(rendered.starts_with(&format!("{name}:")), "{rendered}");
        insta::assert_snapshot!(name.trim_end_matches(".yaml"), rendered);
    }
}

#[test]
fn a_file_with_three_mistakes_reports_all_three() {
    let text = fs::read_to_string(data("invalid/three-mistakes.yaml")).unwrap();
    let errors = parse(&text, &[]).unwrap_err();
    let places: Vec<(usize, usize, &str)> = errors
        .problems
        .iter()
        .map(|p| (p.pos.line, p.pos.column, p.path.as_str()))
        .collect();
    assert_eq!(
        places,
        [
            (11, 9, "strategies[0].environments[0].automerge"),
            (
                15,
                23,
                "strategies[0].environments[1].activeCommitStatuses[0].soakTime"
            ),
            (16, 17, "strategies[0].environments[2].branch"),
        ]
    );
    assert_eq!(
        errors.problems[0].hint.as_deref(),
        Some("did you mean `autoMerge`?")
    );
}

#[test]
fn validate_on_a_bad_file_exits_2_with_nothing_on_stdout() {
    promoter()
        .args(["validate", "-c", "tests/data/invalid/three-mistakes.yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::starts_with(
            "error: tests/data/invalid/three-mistakes.yaml has 3 problems\n\
             tests/data/invalid/three-mistakes.yaml:11:9: strategies[0].environments[0].automerge: unknown key `automerge`\n  \
             hint: did you mean `autoMerge`?\n",
        ));
}

#[test]
fn validate_on_a_good_file_exits_0_and_prints_the_resolved_environments() {
    promoter()
        .args(["validate", "--config", "examples/promotion.yaml"])
        .env("GITHUB_TOKEN", "ghp_not_a_real_token")
        .assert()
        .code(0)
        .stderr("")
        .stdout(predicate::str::contains(
            "  3. environment/prod\n     staging branch  environment/prod-next\n     merge           auto-merge\n",
        ));
}

#[test]
fn validate_warns_about_an_unset_token_by_name_and_never_prints_a_value() {
    promoter()
        .args(["validate", "-c", "examples/promotion.yaml"])
        .assert()
        .success()
        .stderr(predicate::str::contains(
            "warning: neither PROMOTER_TOKEN nor GITHUB_TOKEN is set",
        ));
    promoter()
        .args(["validate", "-c", "examples/promotion.yaml"])
        .env("PROMOTER_TOKEN", "s3cr3t-value")
        .assert()
        .success()
        .stderr("")
        .stdout(predicate::str::contains("s3cr3t-value").not());
    promoter()
        .args(["-q", "validate", "-c", "examples/promotion.yaml"])
        .assert()
        .success()
        .stderr("");
}

#[test]
fn the_config_is_found_by_flag_then_promoter_config_then_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let minimal = fs::read_to_string(root().join("examples/promotion.yaml")).unwrap();
    fs::write(dir.path().join("promotion.yaml"), &minimal).unwrap();
    fs::write(
        dir.path().join("other.yaml"),
        minimal.replace("guestbook", "other"),
    )
    .unwrap();

    let run = |args: &[&str], config_env: Option<&str>| {
        let mut command = promoter();
        command
            .current_dir(dir.path())
            .args(args)
            .env("GITHUB_TOKEN", "x");
        if let Some(value) = config_env {
            command.env("PROMOTER_CONFIG", value);
        }
        let output = command.assert().success().get_output().stdout.clone();
        String::from_utf8(output).unwrap()
    };
    assert!(run(&["validate"], None).contains("strategy guestbook"));
    assert!(run(&["validate"], Some("other.yaml")).contains("strategy other"));
    assert!(
        run(&["validate", "-c", "promotion.yaml"], Some("other.yaml"))
            .contains("strategy guestbook")
    );
}

#[test]
fn a_missing_config_file_is_a_usage_error_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    promoter()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::starts_with("error: reading promotion.yaml\ncaused by: ")
                .and(predicate::str::contains("hint: run promoter where promotion.yaml is, pass -c FILE or set PROMOTER_CONFIG")),
        );
    promoter()
        .current_dir(dir.path())
        .arg("validate")
        .env("PROMOTER_CONFIG", "nowhere.yaml")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "hint: PROMOTER_CONFIG names this file",
        ));
}

#[test]
fn a_command_line_mistake_exits_2() {
    promoter().arg("validat").assert().code(2).stdout("");
    promoter()
        .args(["--color", "sometimes", "schema"])
        .assert()
        .code(2);
    promoter()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("validate"));
}

#[test]
fn errors_are_coloured_only_when_asked() {
    promoter()
        .args(["--color", "always", "validate", "-c", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\u{1b}["));
    promoter()
        .args(["--color", "auto", "validate", "-c", "missing.yaml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\u{1b}[").not());
}

const NO_REPOSITORY: &str = "\
scm:
  provider: PROVIDER
strategies:
  - name: app
    environments:
      - branch: environment/dev
";

/// (provider, env, expected api url, owner, name, clone url, web url)
type DefaultsCase = (
    &'static str,
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

#[test]
fn ci_environments_fill_in_the_repository_and_urls() {
    let cases: [DefaultsCase; 5] = [
        (
            "github",
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", "acme/deploy"),
            ],
            "https://api.github.com",
            "acme",
            "deploy",
            "https://github.com/acme/deploy.git",
            "https://github.com/acme/deploy",
        ),
        (
            "github",
            &[
                ("GITHUB_ACTIONS", "true"),
                ("GITHUB_REPOSITORY", "acme/deploy"),
                ("GITHUB_API_URL", "https://ghe.acme.io/api/v3"),
                ("GITHUB_SERVER_URL", "https://ghe.acme.io"),
            ],
            "https://ghe.acme.io/api/v3",
            "acme",
            "deploy",
            "https://ghe.acme.io/acme/deploy.git",
            "https://ghe.acme.io/acme/deploy",
        ),
        (
            "gitlab",
            &[
                ("GITLAB_CI", "true"),
                ("CI_PROJECT_PATH", "platform/apps/deploy"),
                ("CI_API_V4_URL", "https://git.acme.io/api/v4"),
                ("CI_SERVER_URL", "https://git.acme.io"),
            ],
            "https://git.acme.io/api/v4",
            "platform/apps",
            "deploy",
            "https://git.acme.io/platform/apps/deploy.git",
            "https://git.acme.io/platform/apps/deploy",
        ),
        (
            "gitlab",
            &[("GITLAB_CI", "true"), ("CI_PROJECT_PATH", "group/deploy")],
            "https://gitlab.com/api/v4",
            "group",
            "deploy",
            "https://gitlab.com/group/deploy.git",
            "https://gitlab.com/group/deploy",
        ),
        (
            "azure-devops",
            &[
                ("TF_BUILD", "True"),
                ("SYSTEM_COLLECTIONURI", "https://dev.azure.com/acme/"),
                ("SYSTEM_TEAMPROJECT", "Web Apps"),
                ("BUILD_REPOSITORY_NAME", "deploy"),
                ("BUILD_REPOSITORY_PROVIDER", "TfsGit"),
            ],
            "https://dev.azure.com",
            "acme/Web Apps",
            "deploy",
            "https://dev.azure.com/acme/Web%20Apps/_git/deploy",
            "https://dev.azure.com/acme/Web%20Apps/_git/deploy",
        ),
    ];
    for (provider, env, api_url, owner, name, clone_url, web_url) in cases {
        let text = NO_REPOSITORY.replace("PROVIDER", provider);
        let config = parse(&text, env).unwrap_or_else(|e| panic!("{provider} {env:?}: {e}"));
        let got = (
            config.scm.api_url.as_str(),
            config.repository.owner.as_str(),
            config.repository.name.as_str(),
            config.repository.clone_url.as_str(),
            config.repository.web_url.as_str(),
        );
        assert_eq!(
            got,
            (api_url, owner, name, clone_url, web_url),
            "{provider} {env:?}"
        );
    }
}

#[test]
fn outside_ci_an_omitted_repository_is_a_problem_with_a_hint() {
    let errors = parse(&NO_REPOSITORY.replace("PROVIDER", "github"), &[]).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "promotion.yaml:1:1: repository: missing `repository`\n  \
         hint: add `repository:` with `owner` and `name`; it may be omitted only inside GitHub Actions (`GITHUB_REPOSITORY`)"
    );
}

#[test]
fn written_values_win_over_the_ci_environment() {
    let text = "\
scm:
  provider: github
  apiUrl: https://ghe.corp.io/api/v3/
repository:
  owner: corp
  name: deploy
  cloneUrl: file:///srv/mirror/deploy.git
strategies:
  - name: app
    environments:
      - branch: environment/dev
";
    let env = [
        ("GITHUB_REPOSITORY", "acme/other"),
        ("GITHUB_API_URL", "https://api.github.com"),
        ("GITHUB_SERVER_URL", "https://github.com"),
    ];
    let config = parse(text, &env).unwrap();
    assert_eq!(config.scm.api_url, "https://ghe.corp.io/api/v3");
    assert_eq!(config.repository.full_name(), "corp/deploy");
    assert_eq!(config.repository.clone_url, "file:///srv/mirror/deploy.git");
    assert_eq!(config.repository.web_url, "https://ghe.corp.io/corp/deploy");
}

#[test]
fn the_token_comes_from_promoter_token_then_token_env_then_the_provider_default() {
    const WITH_TOKEN_ENV: &str = "  tokenEnv: DEPLOY_TOKEN\n";
    // (provider, tokenEnv line, env, expected variable)
    type Case = (
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
        Option<&'static str>,
    );
    let cases: [Case; 9] = [
        ("github", "", &[("GITHUB_TOKEN", "a")], Some("GITHUB_TOKEN")),
        (
            "github",
            "",
            &[("GITHUB_TOKEN", "a"), ("PROMOTER_TOKEN", "b")],
            Some("PROMOTER_TOKEN"),
        ),
        (
            "github",
            WITH_TOKEN_ENV,
            &[("GITHUB_TOKEN", "a"), ("DEPLOY_TOKEN", "c")],
            Some("DEPLOY_TOKEN"),
        ),
        ("github", WITH_TOKEN_ENV, &[("GITHUB_TOKEN", "a")], None),
        (
            "github",
            WITH_TOKEN_ENV,
            &[("DEPLOY_TOKEN", "c"), ("PROMOTER_TOKEN", "b")],
            Some("PROMOTER_TOKEN"),
        ),
        (
            "github",
            "",
            &[("PROMOTER_TOKEN", "  "), ("GITHUB_TOKEN", "a")],
            Some("GITHUB_TOKEN"),
        ),
        (
            "gitlab",
            "",
            &[("GITLAB_TOKEN", "a"), ("GITHUB_TOKEN", "x")],
            Some("GITLAB_TOKEN"),
        ),
        (
            "gitea",
            "  apiUrl: https://gitea.acme.io/api/v1\n",
            &[("GITEA_TOKEN", "a")],
            Some("GITEA_TOKEN"),
        ),
        (
            "forgejo",
            "  apiUrl: https://codeberg.org/api/v1\n",
            &[("GITEA_TOKEN", "a")],
            None,
        ),
    ];
    for (provider, extra, env, expected) in cases {
        let text = format!(
            "scm:\n  provider: {provider}\n{extra}repository:\n  owner: acme\n  name: deploy\n{}",
            "strategies:\n  - name: app\n    environments:\n      - branch: environment/dev\n"
        );
        let config = parse(&text, &[]).unwrap_or_else(|e| panic!("{provider}: {e}"));
        let token = config.scm.token(&env_table(env));
        assert_eq!(
            token.as_ref().map(|(var, _)| var.as_str()),
            expected,
            "{provider} {extra:?} {env:?}"
        );
    }
}

#[test]
fn validate_refuses_a_commit_rule_that_does_not_compile_with_its_location() {
    promoter()
        .args(["validate", "-c", "tests/data/invalid/computed-gates.yaml"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "tests/data/invalid/computed-gates.yaml:19:19: gates[0].commit.expression: the expression does not compile: syntax error",
        ));
}
