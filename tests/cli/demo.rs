//! `promoter demo` runs a real promotion offline: this runs the binary and checks the story it
//! tells against the repositories it leaves behind (`--keep`).

use crate::support::promoter;

#[test]
fn demo_promotes_every_environment_then_stops_at_a_failing_health_check() {
    let dir = tempfile::tempdir().unwrap();
    let output = promoter()
        .arg("demo")
        .arg("--keep")
        .arg(dir.path())
        .env("HOME", dir.path())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        // The sandbox serves git over HTTP through `git http-backend`.
        .env("PATH", std::env::var("PATH").unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("The change is live everywhere."),
        "{stdout}"
    );
    // The computed commit rule shows with its reason.
    assert!(
        stdout.contains("hydrated-commit: ")
            && stdout.contains("passes a commit written by the hydrator"),
        "{stdout}"
    );
    // Act 2 ends with staging waiting on dev's failed health, and says so.
    let last_pass = stdout.rsplit("-- pass").next().unwrap();
    assert!(last_pass.contains("argocd-health ✗"), "{last_pass}");
    assert!(
        last_pass.contains("environment/staging  pending")
            && last_pass.contains("Waiting for `argocd-health` on `environment/dev`"),
        "{last_pass}"
    );
    // The kept bare repository has the promotions as merge commits on every live branch.
    let repo = git2::Repository::open_bare(dir.path().join("forge/acme/deploy.git")).unwrap();
    for branch in ["environment/dev", "environment/staging", "environment/prod"] {
        let tip = repo
            .find_branch(branch, git2::BranchType::Local)
            .unwrap()
            .get()
            .peel_to_commit()
            .unwrap();
        assert_eq!(tip.parent_count(), 2, "{branch} ends in a merge commit");
    }
}
