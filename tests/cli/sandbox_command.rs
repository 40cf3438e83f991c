//! `promoter sandbox`: prints its base URL first, then a promotion.yaml snippet, serves until
//! interrupted, and stops cleanly on Ctrl-C (SIGINT).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};

#[test]
fn the_sandbox_command_prints_its_url_and_a_config_snippet_then_stops_on_ctrl_c() {
    let root = tempfile::tempdir().expect("root");
    let mut child = Command::new(env!("CARGO_BIN_EXE_promoter"))
        .args(["sandbox", "--root"])
        .arg(root.path())
        .args(["--port", "0", "--token", "cmd-token"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promoter starts");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    let base = first.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut snippet = String::new();
    for _ in 0..8 {
        stdout.read_line(&mut snippet).expect("snippet line");
    }
    assert_eq!(
        snippet,
        format!(
            "scm:\n  provider: github\n  apiUrl: {base}/api/v3\n  tokenEnv: SANDBOX_TOKEN\nrepository:\n  owner: acme\n  name: deploy\n  cloneUrl: {base}/acme/deploy.git\n"
        )
    );
    assert!(!snippet.contains("cmd-token"));
    let mut gitlab = String::new();
    stdout.read_line(&mut gitlab).expect("gitlab line");
    assert_eq!(
        gitlab,
        format!("# GitLab dialect: provider: gitlab, apiUrl: {base}/api/v4\n")
    );
    let mut gitea = String::new();
    stdout.read_line(&mut gitea).expect("gitea line");
    assert_eq!(
        gitea,
        format!("# Gitea dialect: provider: gitea or forgejo, apiUrl: {base}/api/v1\n")
    );
    let mut bitbucket = String::new();
    stdout.read_line(&mut bitbucket).expect("bitbucket line");
    assert_eq!(
        bitbucket,
        format!("# Bitbucket dialect: provider: bitbucket, apiUrl: {base}/2.0\n")
    );
    let mut azure = String::new();
    stdout.read_line(&mut azure).expect("azure line");
    assert_eq!(
        azure,
        format!(
            "# Azure DevOps dialect: provider: azure-devops, apiUrl: {base}, owner: sandbox/acme\n"
        )
    );
    let mut bitbucket_server = String::new();
    stdout
        .read_line(&mut bitbucket_server)
        .expect("bitbucket server line");
    assert_eq!(
        bitbucket_server,
        format!("# Bitbucket Data Center dialect: provider: bitbucket-server, apiUrl: {base}\n")
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let answer = agent
        .get(format!("{base}/api/v3/repos/acme/deploy"))
        .header("User-Agent", "t")
        .header("Authorization", "Bearer cmd-token")
        .call()
        .expect("request");
    assert_eq!(answer.status().as_u16(), 200);
    assert!(root.path().join("acme/deploy.git/HEAD").exists());

    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    let mut errors = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut errors)
        .expect("stderr");
    assert!(errors.contains("sandbox forge stopped"), "{errors}");
    assert!(!errors.contains("cmd-token"), "{errors}");
}
