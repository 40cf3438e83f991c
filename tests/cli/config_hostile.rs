//! promotion.yaml written by a careless or hostile hand: bytes YAML forbids, resource bombs,
//! credentials in URLs, misspelt template variables, misleading branch names — end to end through
//! the binary — and a bounded random-mutation test of the loader.

use std::fs;
use std::path::{Path, PathBuf};

use predicates::prelude::*;

use crate::support::{promoter, root};

/// The minimal example with prod set to manual merge: the key a truncated file would lose.
fn manual_prod() -> String {
    fs::read_to_string(root().join("examples/promotion.yaml"))
        .unwrap()
        .replace(
            "      - branch: environment/prod\n",
            "      - branch: environment/prod # reviewed by a person\n        autoMerge: false\n",
        )
}

fn write(dir: &Path, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, content).unwrap();
    path
}

#[test]
fn a_nul_byte_in_a_comment_is_refused_with_its_line_and_column_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let text = manual_prod().replace("# reviewed", "#\0 reviewed");
    let path = write(dir.path(), "promotion.yaml", text);
    promoter()
        .args(["validate", "-c"])
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "promotion.yaml:16:35: a NUL byte (U+0000) (byte offset",
        ))
        .stderr(predicate::str::contains("hint: remove it"));
}

#[test]
fn invalid_utf8_is_refused_with_its_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = manual_prod().into_bytes();
    let at = bytes.windows(9).position(|w| w == b"guestbook").unwrap();
    bytes[at + 5] = 0xff;
    let path = write(dir.path(), "promotion.yaml", bytes);
    promoter()
        .args(["validate", "-c"])
        .arg(&path)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "promotion.yaml:12:16: invalid UTF-8: byte 0xFF at byte offset",
        ))
        .stderr(predicate::str::contains("hint: save the file as UTF-8"));
}

#[test]
fn credentials_in_a_url_are_refused_and_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let text = manual_prod().replace(
        "  name: deploy\n",
        "  name: deploy\n  cloneUrl: https://deployer:hunter2-secret@github.com/acme/deploy.git\n",
    );
    let path = write(dir.path(), "promotion.yaml", text);
    for command in ["validate", "reconcile"] {
        promoter()
            .args([command, "-c"])
            .arg(&path)
            .assert()
            .code(2)
            .stdout("")
            .stderr(predicate::str::contains(
                "promotion.yaml:11:13: repository.cloneUrl: `https://***@github.com/acme/deploy.git` has credentials in the URL",
            ))
            .stderr(predicate::str::contains("scm.tokenEnv"))
            .stderr(predicate::str::contains("hunter2").not())
            .stderr(predicate::str::contains("deployer").not());
    }
    promoter()
        .args(["validate", "-c", "examples/promotion.yaml"])
        .env("GITHUB_SERVER_URL", "https://ci:hunter2-secret@github.com")
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "repository: the environment variable `GITHUB_SERVER_URL` has credentials in its URL (`https://***@github.com`)",
        ))
        .stderr(predicate::str::contains("hunter2").not());
}

#[test]
fn a_misspelt_template_variable_fails_validate_at_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}pullRequest:\n  title: \"Promote {{{{ proposed.dry.shortsha }}}}\"\n",
        manual_prod()
    );
    let path = write(dir.path(), "promotion.yaml", text);
    promoter()
        .args(["validate", "-c"])
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "promotion.yaml:19:10: pullRequest.title: the title template does not render: undefined value at line 1: `proposed.dry.shortsha` is undefined\n  \
             hint: validate renders templates with every documented variable set",
        ));
}

#[test]
fn branch_names_git_refuses_or_that_hide_characters_fail_validate() {
    let dir = tempfile::tempdir().unwrap();
    let long = "a".repeat(300);
    let text = format!(
        "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\nstrategies:\n  - name: app\n    environments:\n\
         \x20     - branch: HEAD\n\
         \x20     - branch: refs/heads/environment/dev\n\
         \x20     - branch: {long}\n\
         \x20     - branch: \"environment/pro\u{200B}d\"\n\
         \x20     - branch: environment/qa\n        stagingBranch: \"environment/\u{202E}txen-aq\"\n\
         \x20     - branch: \"environment/uat\u{00A0}\"\n"
    );
    let path = write(dir.path(), "promotion.yaml", text);
    let output = promoter()
        .args(["validate", "-c"])
        .arg(&path)
        .assert()
        .code(2)
        .stdout("")
        .get_output()
        .stderr
        .clone();
    let stderr = String::from_utf8(output).unwrap();
    for expected in [
        "promotion.yaml:9:17: strategies[0].environments[0].branch: `HEAD` is not a valid branch name: `HEAD` is git's name for the current commit",
        "promotion.yaml:10:17: strategies[0].environments[1].branch: `refs/heads/environment/dev` is not a valid branch name: a branch name is written without `refs/`\n  hint: write `environment/dev`",
        "promotion.yaml:11:17: strategies[0].environments[2].branch: ",
        "is not a valid branch name: a branch name is at most 255 bytes; this one has 300",
        "promotion.yaml:12:17: strategies[0].environments[3].branch: `environment/pro\\u{200B}d` is not a valid branch name: it contains U+200B ZERO WIDTH SPACE (character 16)",
        "promotion.yaml:14:24: strategies[0].environments[4].stagingBranch: `environment/\\u{202E}txen-aq` is not a valid branch name: it contains U+202E RIGHT-TO-LEFT OVERRIDE",
        "promotion.yaml:15:17: strategies[0].environments[5].branch: `environment/uat\\u{00A0}` is not a valid branch name: it contains U+00A0 NO-BREAK SPACE",
    ] {
        assert!(stderr.contains(expected), "{expected}\nnot in\n{stderr}");
    }
    assert!(
        !stderr.contains('\u{202E}') && !stderr.contains('\u{200B}'),
        "{stderr}"
    );
}
