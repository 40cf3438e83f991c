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

/// `promoter validate -c path`, expected to exit 2 with nothing on stdout.
fn validate_refuses(path: &Path) -> assert_cmd::assert::Assert {
    promoter()
        .args(["validate", "-c"])
        .arg(path)
        .assert()
        .code(2)
        .stdout("")
}

#[test]
fn a_nul_byte_in_a_comment_is_refused_with_its_line_and_column_not_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let text = manual_prod().replace("# reviewed", "#\0 reviewed");
    let path = write(dir.path(), "promotion.yaml", text);
    validate_refuses(&path)
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
    validate_refuses(&path)
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
    validate_refuses(&path)
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
    let output = validate_refuses(&path).get_output().stderr.clone();
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

/// The binary under `ulimit -v` (1 GiB of address space) and a generous timeout: should a limit
/// regress, the test fails with an allocation error instead of taking the machine down. No timing
/// is asserted.
fn bounded_promoter(args: &[&str]) -> assert_cmd::Command {
    let mut command = assert_cmd::Command::new("/bin/sh");
    command
        .env_clear()
        .current_dir(root())
        .timeout(std::time::Duration::from_secs(120))
        .arg("-c")
        .arg("ulimit -v 1048576 && exec \"$0\" \"$@\"")
        .arg(assert_cmd::cargo::cargo_bin!("promoter"))
        .args(args);
    command
}

/// `validate` and `reconcile --dry-run` on `path`, both expected to exit 2 with nothing on stdout.
fn run_bounded(path: &Path) -> [assert_cmd::assert::Assert; 2] {
    let path = path.to_str().unwrap();
    [
        &["validate", "-c", path][..],
        &["reconcile", "-c", path, "--dry-run"],
    ]
    .map(|args| bounded_promoter(args).assert().code(2).stdout(""))
}

#[test]
fn an_alias_bomb_is_refused_with_its_location_before_it_grows() {
    // The 473-byte file of issue 11: nine levels of nine aliases, 9^9 strings once expanded.
    let mut text = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (previous, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let copies = vec![format!("*{previous}"); 9].join(",");
        text.push_str(&format!("{name}: &{name} [{copies}]\n"));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "promotion.yaml", text);
    for assert in run_bounded(&path) {
        assert.stderr(predicate::str::contains(
            "promotion.yaml:5:34: the document grows to more than 100000 values once its aliases are expanded",
        ));
    }
}

#[test]
fn deep_nesting_is_refused_with_its_location_not_a_stack_overflow() {
    let mappings = |levels: usize| -> String {
        (0..levels)
            .map(|depth| format!("{}k:\n", " ".repeat(depth)))
            .collect()
    };
    let cases = [
        // 10,000 nested block lists in 20 KB.
        (
            "lists.yaml",
            format!("{}x\n", "- ".repeat(10_000)),
            "lists.yaml:1:129: mappings and lists are nested more than 64 levels deep",
        ),
        // 1,000 nested block mappings in 500 KB.
        (
            "mappings.yaml",
            mappings(1_000),
            "mappings.yaml:65:66: mappings and lists are nested more than 64 levels deep",
        ),
        // The 10,000-level mapping of issue 11 takes 50 MB: refused for its size, unread.
        (
            "huge.yaml",
            mappings(10_000),
            "huge.yaml:1:1: the file is larger than 1 MiB",
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text, expected) in cases {
        let path = write(dir.path(), name, text);
        for assert in run_bounded(&path) {
            assert.stderr(predicate::str::contains(expected));
        }
    }
}
