//! `scm.githubApp` end to end: the real binary authenticates as the committed test GitHub App
//! (tests/fixtures/github-app) against the sandbox forge, which verifies its JWTs, mints the
//! installation token and checks that token on every API call and git transfer. The sandbox's
//! `/api/v3` root is GitHub Enterprise Server's layout, and no `cloneUrl` is written, so the clone
//! URL is derived from the Enterprise `apiUrl` as it would be for `https://HOST/api/v3`.

use promoter::AppKey;
use sandbox::{CommitSpec, Sha};

use crate::reconcile::{Forge, NAME, OWNER, TOKEN, World};

const APP_ID: u64 = 31337;
const INSTALLATION: u64 = 9001;
const BOT: &str = "promoter-e2e[bot]";
const ENVS: [&str; 3] = ["environment/dev", "environment/staging", "environment/prod"];
const KEY_VAR: &str = "PROMOTER_GITHUB_APP_KEY";

fn test_key() -> String {
    std::fs::read_to_string(crate::support::root().join("tests/fixtures/github-app/test-key.pem"))
        .unwrap()
}

/// The shared [`World`] with the test App installed.
struct AppWorld {
    world: World,
    dry: Sha,
}

impl std::ops::Deref for AppWorld {
    type Target = World;
    fn deref(&self) -> &World {
        &self.world
    }
}

impl AppWorld {
    /// acme/deploy with a DRY commit hydrated for three environments, and the test app installed
    /// on the `acme` account. The owner's token is never given to promoter.
    fn new() -> Self {
        let mut world = World::new(Forge::Github, &["dev", "staging", "prod"]);
        let dry = world.dry_change("bump");
        world.hydrate_all(&dry);
        let public_key = AppKey::from_pem(&test_key()).unwrap().public_key_der();
        world
            .sandbox
            .add_github_app(
                APP_ID,
                "promoter-e2e",
                &public_key,
                &[(INSTALLATION, OWNER)],
            )
            .unwrap();
        AppWorld { world, dry }
    }

    /// promotion.yaml with `githubApp` holding `app` (indented by 4), no token and no cloneUrl.
    fn config(&self, app: &str) {
        let envs: String = ENVS
            .iter()
            .map(|env| format!("      - branch: {env}\n"))
            .collect();
        let text = format!(
            "scm:\n  provider: github\n  apiUrl: {}\n  githubApp:\n{app}repository:\n  owner: {OWNER}\n  name: {NAME}\nstrategies:\n  - name: app\n    environments:\n{envs}",
            self.sandbox.api_url()
        );
        std::fs::write(self.dir.path().join("promotion.yaml"), text).unwrap();
    }

    /// `promoter reconcile` with no token in the environment.
    fn command(&self) -> assert_cmd::Command {
        let mut process = self.process(&["reconcile"], "");
        process.env_remove("PROMOTER_TOKEN");
        assert_cmd::Command::from_std(process)
    }

    /// Every environment got the DRY commit through a PR the app's bot opened; every API call
    /// after minting and every authenticated git request was made with the installation token.
    fn assert_promoted_by_the_app(&self, output: &std::process::Output, runs: usize) {
        let stdout = String::from_utf8_lossy(&output.stdout);
        for (index, env) in ENVS.iter().enumerate() {
            assert_eq!(
                self.live_dry(index).as_deref(),
                Some(self.dry.as_str()),
                "{env}\n{stdout}"
            );
        }
        let pulls = self.sandbox.pulls(OWNER, NAME).unwrap();
        assert_eq!(pulls.len(), 3, "{pulls:#?}");
        assert!(pulls.iter().all(|p| p.author == BOT), "{pulls:#?}");
        // One installation token per run.
        assert_eq!(self.sandbox.minted_tokens().len(), runs);
        let requests = self.sandbox.requests();
        let jwt = format!("app {APP_ID} (JWT)");
        for request in &requests {
            let caller = request.caller.as_deref();
            if request.path.contains("/app/") || request.path.ends_with("/installation") {
                assert_eq!(caller, Some(jwt.as_str()), "{request:?}");
            } else if request.path.starts_with("/api/") {
                assert_eq!(caller, Some(BOT), "{request:?}");
            } else {
                // libgit2's first request of a connection carries no credentials (401 challenge).
                assert!(caller.is_none() || caller == Some(BOT), "{request:?}");
            }
        }
        assert!(
            requests
                .iter()
                .any(|r| r.path.ends_with("/git-upload-pack") && r.caller.as_deref() == Some(BOT)),
            "git fetches with the installation token"
        );
        let shown = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        assert!(!shown.contains("ghs_"), "{shown}");
        assert!(!shown.contains("eyJ"), "{shown}");
    }
}

#[test]
fn a_github_app_key_in_a_variable_promotes_three_environments_as_the_app() {
    let world = AppWorld::new();
    world.config(&format!(
        "    appId: {APP_ID}\n    privateKeyEnv: {KEY_VAR}\n"
    ));
    // A hand edit on prod conflicts with the hydrated manifest: promoter pushes an ours merge to
    // the staging branch, so git writes with the installation token too.
    world
        .sandbox
        .commit(
            OWNER,
            NAME,
            ENVS[2],
            &CommitSpec::new("hotfix").file("manifest.yaml", "hand edit\n"),
        )
        .unwrap();

    let first = world
        .command()
        .env(KEY_VAR, test_key())
        .assert()
        .success()
        .get_output()
        .clone();
    // The pass that resolves the conflict reads prod's gates again in the next one.
    let output = world
        .command()
        .env(KEY_VAR, test_key())
        .assert()
        .success()
        .get_output()
        .clone();

    let first_shown = String::from_utf8_lossy(&first.stdout).to_string()
        + &String::from_utf8_lossy(&first.stderr);
    assert!(!first_shown.contains("ghs_") && !first_shown.contains("eyJ"));
    world.assert_promoted_by_the_app(&output, 2);
    assert!(
        world
            .sandbox
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/git-receive-pack") && r.caller.as_deref() == Some(BOT))
    );
    // Without installationId the installation is looked up for the repository.
    assert!(world.sandbox.requests().iter().any(
        |r| r.method == "GET" && r.path == format!("/api/v3/repos/{OWNER}/{NAME}/installation")
    ));
}

#[test]
fn a_github_app_key_file_relative_to_the_config_promotes_three_environments_as_the_app() {
    let world = AppWorld::new();
    std::fs::create_dir(world.dir.path().join("keys")).unwrap();
    std::fs::copy(
        crate::support::root().join("tests/fixtures/github-app/test-key.pkcs8.pem"),
        world.dir.path().join("keys/app.pem"),
    )
    .unwrap();
    world.config(&format!(
        "    appId: {APP_ID}\n    installationId: {INSTALLATION}\n    privateKeyPath: keys/app.pem\n"
    ));

    let output = world
        .command()
        // A token variable is ignored when the app is configured.
        .env("PROMOTER_TOKEN", TOKEN)
        .assert()
        .success()
        .get_output()
        .clone();

    world.assert_promoted_by_the_app(&output, 1);
    assert!(
        !world
            .sandbox
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/installation"))
    );
}

#[test]
fn a_broken_key_fails_clearly_without_printing_key_material() {
    let world = AppWorld::new();
    world.config(&format!(
        "    appId: {APP_ID}\n    privateKeyEnv: {KEY_VAR}\n"
    ));
    let key = test_key();
    let line = key.lines().nth(3).unwrap();
    let broken = key.replace(line, &line.replace(|c: char| c.is_ascii_digit(), "#"));

    let output = world
        .command()
        .env(KEY_VAR, &broken)
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "reading the GitHub App private key from the variable {KEY_VAR}"
        )),
        "{stderr}"
    );
    let shown = format!("{}{stderr}", String::from_utf8_lossy(&output.stdout));
    for line in key.lines().skip(1).take(20) {
        assert!(!shown.contains(&line[..16]), "{shown}");
    }
    assert!(world.sandbox.requests().is_empty());
}

#[test]
fn a_key_github_does_not_know_fails_with_the_app_id_key_or_clock_hint() {
    let world = AppWorld::new();
    // The key is the test app's, the app id is not: GitHub cannot verify the JWT.
    world.config(&format!("    appId: 4040\n    privateKeyEnv: {KEY_VAR}\n"));

    let output = world
        .command()
        .env(KEY_VAR, test_key())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!(
            "error: authenticating as GitHub App 4040 to {OWNER}/{NAME}"
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("answered 401: A JSON web token could not be decoded"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "hint: GitHub refused the app's JWT: the app id (4040) or private key is wrong, or the system clock is off"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("eyJ"), "{stderr}");
}

#[test]
fn an_app_not_installed_on_the_repository_fails_with_a_hint_saying_so() {
    let world = AppWorld::new();
    world
        .sandbox
        .add_github_app(
            APP_ID,
            "promoter-e2e",
            &AppKey::from_pem(&test_key()).unwrap().public_key_der(),
            &[(INSTALLATION, "someone-else")],
        )
        .unwrap();
    world.config(&format!(
        "    appId: {APP_ID}\n    privateKeyEnv: {KEY_VAR}\n"
    ));

    let output = world
        .command()
        .env(KEY_VAR, test_key())
        .assert()
        .failure()
        .code(1)
        .get_output()
        .clone();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("hint: the app is not installed on {OWNER}/{NAME}")),
        "{stderr}"
    );
}
