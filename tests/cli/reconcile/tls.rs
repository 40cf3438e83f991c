//! The sandbox behind HTTPS with a CA only the test knows: git and the API trust the same roots,
//! fail alike without the CA, and promote with it (from `scm.caFile` or `SSL_CERT_FILE`).

use super::{Forge, NAME, OWNER, World};
use crate::support::tls::TlsFront;

fn no_extra(_: usize) -> String {
    String::new()
}

/// A world whose promotion.yaml reaches the API (and, when `git_too`, git) through the TLS front;
/// `ca_file` is written under `scm` when given.
fn behind_tls(git_too: bool, ca_file: Option<&str>) -> (World, TlsFront) {
    let mut world = World::new(Forge::Github, &["dev", "staging"]);
    let dry = world.dry_change("bump replicas");
    world.hydrate_all(&dry);
    let path = world.config("", &no_extra);
    let base = world.sandbox.base_url();
    let front = TlsFront::start(base.trim_start_matches("http://"));
    let text = std::fs::read_to_string(&path).unwrap();
    let clone_url = world.sandbox.clone_url(OWNER, NAME);
    let mut text = text.replace(
        &format!("apiUrl: {base}"),
        &format!("apiUrl: {}", front.base_url()),
    );
    if git_too {
        let https_clone = clone_url.replace(&base, &front.base_url());
        text = text.replace(
            &format!("cloneUrl: {clone_url}"),
            &format!("cloneUrl: {https_clone}"),
        );
    }
    if let Some(ca_file) = ca_file {
        text = text.replace("scm:\n", &format!("scm:\n  caFile: {ca_file}\n"));
    }
    assert!(text.contains(&front.base_url()), "{text}");
    std::fs::write(&path, text).unwrap();
    (world, front)
}

fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
}

/// One error, naming the refused certificate and both ways to trust its CA.
fn assert_one_certificate_error(stderr: &str) {
    assert_eq!(stderr.matches("error:").count(), 1, "{stderr}");
    assert_eq!(stderr.matches("is not trusted").count(), 1, "{stderr}");
    assert!(stderr.contains("UnknownIssuer"), "{stderr}");
    assert_eq!(stderr.matches("hint:").count(), 1, "{stderr}");
    assert!(stderr.contains("scm.caFile"), "{stderr}");
    assert!(stderr.contains("SSL_CERT_FILE"), "{stderr}");
}

#[test]
fn without_the_ca_git_fails_with_one_certificate_error_before_any_request() {
    let (world, _front) = behind_tls(true, None);
    world.sandbox.clear_requests();

    let assert = world.reconcile().failure();

    let stderr = stderr_of(&assert);
    assert_one_certificate_error(&stderr);
    assert!(stderr.contains("127.0.0.1"), "{stderr}");
    assert_eq!(world.sandbox.requests().len(), 0, "{stderr}");
}

#[test]
fn without_the_ca_the_api_fails_with_the_same_certificate_error() {
    // git over plain HTTP works; only the API is behind the private CA.
    let (world, _front) = behind_tls(false, None);
    world.sandbox.clear_requests();

    let assert = world.reconcile().failure();

    let stderr = stderr_of(&assert);
    assert_one_certificate_error(&stderr);
    assert_eq!(world.api_requests(), Vec::<String>::new(), "{stderr}");
}

#[test]
fn with_scm_ca_file_git_and_the_api_promote_over_https() {
    let (world, front) = behind_tls(true, Some("ca.pem"));
    // Relative to promotion.yaml's directory, not the working directory (the crate root).
    front.write_ca(&world.dir.path().join("ca.pem"));

    let assert = world.reconcile().success();

    let stderr = stderr_of(&assert);
    assert!(world.fetches() > 0, "{stderr}");
    assert_eq!(world.live_dry(0), world.live_dry(1), "{stderr}");
    assert!(world.live_dry(0).is_some(), "{stderr}");
    assert_eq!(
        world.sandbox.pulls(OWNER, NAME).unwrap().len(),
        2,
        "{stderr}"
    );
}

#[test]
fn with_ssl_cert_file_git_and_the_api_promote_over_https() {
    let (world, front) = behind_tls(true, None);
    let ca = world.dir.path().join("bundle.pem");
    front.write_ca(&ca);

    let assert = world
        .command(&["reconcile"], super::TOKEN)
        .env("SSL_CERT_FILE", &ca)
        .assert()
        .success();

    let stderr = stderr_of(&assert);
    assert!(world.live_dry(1).is_some(), "{stderr}");
    assert_eq!(
        world.sandbox.pulls(OWNER, NAME).unwrap().len(),
        2,
        "{stderr}"
    );
}

#[test]
fn an_ssl_cert_file_that_cannot_be_read_is_reported_not_replaced() {
    let (world, _front) = behind_tls(true, None);

    let assert = world
        .command(&["reconcile"], super::TOKEN)
        .env("SSL_CERT_FILE", "/nonexistent/bundle.pem")
        .assert()
        .failure();

    let stderr = stderr_of(&assert);
    assert!(stderr.contains("/nonexistent/bundle.pem"), "{stderr}");
    assert!(stderr.contains("SSL_CERT_FILE"), "{stderr}");
}

#[test]
fn a_ca_file_that_is_not_pem_is_reported_by_name() {
    let (world, _front) = behind_tls(true, Some("ca.pem"));
    std::fs::write(world.dir.path().join("ca.pem"), "not a certificate\n").unwrap();

    let assert = world.reconcile().failure();

    let stderr = stderr_of(&assert);
    assert!(stderr.contains("scm.caFile"), "{stderr}");
    assert!(
        stderr.contains("ca.pem holds no PEM certificate"),
        "{stderr}"
    );
}
