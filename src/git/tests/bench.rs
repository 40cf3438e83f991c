//! Benchmark (ignored by default): a generated repository — 10,000 files, 5 environments, some
//! history — served over smart HTTP on 127.0.0.1 by the sandbox forge (`crate::sandbox`, which runs
//! `git http-backend` for both clients); promoter's cold and warm (nothing moved) sync, each timed
//! against `git fetch` of the same refs by the git CLI in the same run.
//!
//! Run: `cargo test --release --lib git::tests::bench -- --ignored --nocapture`
//!
//! Measured (release build, 2 cores shared with other builds, sandbox forge): cold 6.21 s
//! (70,754 objects, 3,888,539 bytes received) vs `git fetch` 6.01 s, ratio 1.03; warm no-change
//! pass 61 ms, no fetch, 0 objects and 0 bytes received, vs `git fetch` 99 ms, ratio 0.62. Both
//! clients spend the cold pass mostly waiting for `git http-backend` to build the pack; `git fetch`
//! sends its token up front (`http.extraHeader`), promoter then answered the forge's 401 challenge
//! first (libgit2's transport); since git goes through `git::http` it sends the token up front too.

use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine;
use git2::{Oid, Repository, Signature, Time};

use super::http::{HttpOrigin, TOKEN};
use super::*;

const FILES_PER_DIR: usize = 100;
const DIRS: usize = 100;
const ENVIRONMENTS: [&str; 5] = ["dev", "qa", "staging", "prod-eu", "prod-us"];
const HISTORY: usize = 5;

fn blob_tree(repo: &Repository, env: &str, revision: usize) -> Oid {
    let mut root = repo.treebuilder(None).unwrap();
    for dir in 0..DIRS {
        let mut sub = repo.treebuilder(None).unwrap();
        for file in 0..FILES_PER_DIR {
            // Each revision changes one directory in ten; each environment differs slightly.
            let generation = if dir % 10 == revision % 10 {
                revision
            } else {
                0
            };
            let text = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app-{dir}-{file}\n  namespace: {env}\ndata:\n  generation: \"{generation}\"\n  payload: \"{}\"\n",
                "x".repeat(200 + (dir * file) % 300)
            );
            let blob = repo.blob(text.as_bytes()).unwrap();
            sub.insert(format!("file-{file:03}.yaml"), blob, 0o100644)
                .unwrap();
        }
        root.insert(format!("app-{dir:03}"), sub.write().unwrap(), 0o040000)
            .unwrap();
    }
    let meta = repo.blob(metadata(DRY_A).as_bytes()).unwrap();
    root.insert("hydrator.metadata", meta, 0o100644).unwrap();
    root.write().unwrap()
}

fn generate(repo: &Repository) {
    for (index, env) in ENVIRONMENTS.iter().enumerate() {
        let mut parent: Option<Oid> = None;
        for revision in 0..HISTORY {
            let tree = repo.find_tree(blob_tree(repo, env, revision)).unwrap();
            let when = Time::new(1_700_000_000 + (index * 100 + revision) as i64 * 60, 0);
            let signature = Signature::new("Hydrator", "h@example.com", &when).unwrap();
            let parents: Vec<git2::Commit<'_>> = parent
                .iter()
                .map(|p| repo.find_commit(*p).unwrap())
                .collect();
            let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
            let commit = repo
                .commit(None, &signature, &signature, "hydrate", &tree, &parent_refs)
                .unwrap();
            if revision == HISTORY - 2 {
                repo.reference(
                    &format!("refs/heads/environment/{env}"),
                    commit,
                    true,
                    "bench",
                )
                .unwrap();
            }
            parent = Some(commit);
        }
        repo.reference(
            &format!("refs/heads/environment/{env}-next"),
            parent.unwrap(),
            true,
            "bench",
        )
        .unwrap();
    }
}

fn git_fetch(url: &str, dir: &Path) -> Duration {
    let header = format!(
        "Authorization: Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{TOKEN}"))
    );
    let started = Instant::now();
    let status = Command::new("git")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .arg("-C")
        .arg(dir)
        .arg("-c")
        .arg(format!("http.extraHeader={header}"))
        .args(["fetch", "--quiet", "--no-tags", url])
        .arg("+refs/heads/environment/*:refs/promoter/remote/heads/environment/*")
        .arg("+refs/notes/hydrator.metadata:refs/promoter/remote/notes/hydrator.metadata")
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench_cold_and_warm_sync_against_git_fetch() {
    let server = HttpOrigin::start();
    generate(&server.origin.repo);
    let tip = server.origin.tip("environment/dev-next");
    server
        .origin
        .note(tip, &format!(r#"{{"drySha":"{DRY_A}"}}"#));
    let wanted: Vec<BranchName> = ENVIRONMENTS
        .iter()
        .flat_map(|env| {
            [
                branch(&format!("environment/{env}")),
                branch(&format!("environment/{env}-next")),
            ]
        })
        .collect();

    let git_dir = tempfile::tempdir().unwrap();
    Repository::init_bare(git_dir.path()).unwrap();
    let git_cold = git_fetch(&server.url(), git_dir.path());

    let started = Instant::now();
    let mut cache = server.open(TOKEN);
    let cold = cache.sync(&wanted).unwrap();
    let promoter_cold = started.elapsed();
    drop(cache);

    let git_warm = git_fetch(&server.url(), git_dir.path());
    let started = Instant::now();
    let mut cache = server.open(TOKEN);
    let warm = cache.sync(&wanted).unwrap();
    let promoter_warm = started.elapsed();

    println!(
        "cold: promoter {promoter_cold:?} ({} objects, {} bytes) vs git fetch {git_cold:?}: ratio {:.2}",
        cold.received_objects,
        cold.received_bytes,
        promoter_cold.as_secs_f64() / git_cold.as_secs_f64()
    );
    println!(
        "warm: promoter {promoter_warm:?} (fetched: {}, {} objects, {} bytes) vs git fetch {git_warm:?}: ratio {:.2}",
        warm.fetched,
        warm.received_objects,
        warm.received_bytes,
        promoter_warm.as_secs_f64() / git_warm.as_secs_f64()
    );
    assert!(cold.fetched && !warm.fetched);
    assert_eq!(warm.received_bytes, 0);
}
