//! Git smart HTTP through `git http-backend`: clone, fetch and push with the git CLI, the token
//! as the basic-auth password, and refusals without it. Git runs with an empty HOME and no system
//! or global config, so the user's setup cannot leak in.

use std::path::Path;
use std::process::{Command, Output};

use sandbox::CommitSpec;
use sandbox::Sha;

use super::{NAME, OWNER, TOKEN, forge};

/// Runs git with a credential helper answering `password` (none when `None`).
fn git(home: &Path, dir: &Path, password: Option<&str>, args: &[&str]) -> Output {
    let mut command = Command::new("git");
    command
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", home.join("gitconfig"))
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Tester")
        .env("GIT_AUTHOR_EMAIL", "tester@example.invalid")
        .env("GIT_AUTHOR_DATE", "1700000000 +0000")
        .env("GIT_COMMITTER_NAME", "Tester")
        .env("GIT_COMMITTER_EMAIL", "tester@example.invalid")
        .env("GIT_COMMITTER_DATE", "1700000000 +0000");
    if let Some(password) = password {
        command.args([
            "-c",
            &format!("credential.helper=!f() {{ echo username=x-access-token; echo password={password}; }}; f"),
        ]);
    }
    command.args(args).output().expect("git runs")
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "git failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

#[test]
fn git_clones_fetches_and_pushes_with_the_token_as_password() {
    let forge = forge();
    let home = tempfile::tempdir().expect("home");
    let url = forge.sandbox.clone_url(OWNER, NAME);
    ok(&git(
        home.path(),
        home.path(),
        Some(TOKEN),
        &[
            "clone",
            "-q",
            "--branch",
            "environment/dev-next",
            &url,
            "work",
        ],
    ));
    let work = home.path().join("work");
    assert_eq!(
        std::fs::read_to_string(work.join("app.yaml")).expect("file"),
        "v: 2\n"
    );
    assert_eq!(
        ok(&git(home.path(), &work, None, &["rev-parse", "HEAD"])),
        forge.staging.as_str()
    );

    let moved = forge
        .sandbox
        .commit(
            OWNER,
            NAME,
            "environment/dev-next",
            &CommitSpec::new("server side").file("s", "1"),
        )
        .expect("commit");
    ok(&git(
        home.path(),
        &work,
        Some(TOKEN),
        &["fetch", "-q", "origin"],
    ));
    assert_eq!(
        ok(&git(
            home.path(),
            &work,
            None,
            &["rev-parse", "origin/environment/dev-next"]
        )),
        moved.as_str()
    );

    ok(&git(
        home.path(),
        &work,
        None,
        &[
            "checkout",
            "-q",
            "-b",
            "feature",
            "origin/environment/dev-next",
        ],
    ));
    std::fs::write(work.join("pushed.txt"), "pushed\n").expect("write");
    ok(&git(home.path(), &work, None, &["add", "pushed.txt"]));
    ok(&git(
        home.path(),
        &work,
        None,
        &["commit", "-q", "-m", "pushed over http"],
    ));
    let local = ok(&git(home.path(), &work, None, &["rev-parse", "HEAD"]));
    ok(&git(
        home.path(),
        &work,
        Some(TOKEN),
        &["push", "-q", "origin", "feature"],
    ));
    let remote = forge
        .sandbox
        .branch_tip(OWNER, NAME, "feature")
        .expect("tip");
    assert_eq!(remote, Some(Sha::parse(&local).expect("sha")));
}

#[test]
fn git_without_the_right_token_is_refused() {
    let forge = forge();
    let home = tempfile::tempdir().expect("home");
    let url = forge.sandbox.clone_url(OWNER, NAME);
    let wrong = git(
        home.path(),
        home.path(),
        Some("wrong-token"),
        &["clone", "-q", &url, "a"],
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("Authentication failed"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let none = git(home.path(), home.path(), None, &["clone", "-q", &url, "b"]);
    assert!(!none.status.success());
    let missing = git(
        home.path(),
        home.path(),
        Some(TOKEN),
        &[
            "clone",
            "-q",
            &forge.sandbox.clone_url(OWNER, "missing"),
            "c",
        ],
    );
    assert!(!missing.status.success());
}

#[test]
fn a_push_without_credentials_changes_nothing() {
    let forge = forge();
    let home = tempfile::tempdir().expect("home");
    let url = forge.sandbox.clone_url(OWNER, NAME);
    ok(&git(
        home.path(),
        home.path(),
        Some(TOKEN),
        &["clone", "-q", "--branch", "main", &url, "work"],
    ));
    let work = home.path().join("work");
    std::fs::write(work.join("x"), "x").expect("write");
    ok(&git(home.path(), &work, None, &["add", "x"]));
    ok(&git(home.path(), &work, None, &["commit", "-q", "-m", "x"]));
    let refused = git(
        home.path(),
        &work,
        Some("wrong-token"),
        &["push", "-q", "origin", "main"],
    );
    assert!(!refused.status.success());
    assert_eq!(
        forge.sandbox.branch_tip(OWNER, NAME, "main").expect("tip"),
        Some(forge.live.clone())
    );
}
