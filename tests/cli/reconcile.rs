//! End-to-end reconcile scenarios (issue 5): the real binary against the sandbox forge over HTTP on
//! 127.0.0.1 and real bare repositories. `World` (in `support/world.rs`) holds the setup; each file below is a group:
//! `scenarios` (1), `gates` (2, 3, 14), `hold` (issue 15, the hold label), `lifecycle` (4–7), `faults` (8–12), `noop` (13), and
//! `boundary` (issue 11: secrets, hostile text, SCM limits). Scenario 16
//! (the API budget) is the exact `Api` count asserted after every pass in all of them.
//!
//! Every scenario that does not depend on one forge's feature is a `fn(Forge)` listed in its
//! file's `per_forge!`, which runs it once per forge dialect of the sandbox (`forge.rs`).

/// Runs each named scenario `fn(Forge)` once per forge, as `<forge>::<name>` tests.
macro_rules! per_forge {
    ($($name:ident),+ $(,)?) => {
        per_forge!(@forge github Github $($name),+);
        per_forge!(@forge gitlab Gitlab $($name),+);
        per_forge!(@forge gitea Gitea $($name),+);
        per_forge!(@forge forgejo Forgejo $($name),+);
        per_forge!(@forge bitbucket Bitbucket $($name),+);
        per_forge!(@forge azure_devops AzureDevops $($name),+);
        per_forge!(@forge bitbucket_server BitbucketServer $($name),+);
    };
    // Scenarios that need what one forge lacks (Azure DevOps: issues; a refusal of an empty PR).
    (without azure_devops: $($name:ident),+ $(,)?) => {
        per_forge!(@forge github Github $($name),+);
        per_forge!(@forge gitlab Gitlab $($name),+);
        per_forge!(@forge gitea Gitea $($name),+);
        per_forge!(@forge forgejo Forgejo $($name),+);
        per_forge!(@forge bitbucket Bitbucket $($name),+);
        per_forge!(@forge bitbucket_server BitbucketServer $($name),+);
    };
    // Scenarios of PR labels, which Bitbucket Cloud and Data Center PRs do not have.
    (with pr labels: $($name:ident),+ $(,)?) => {
        per_forge!(@forge github Github $($name),+);
        per_forge!(@forge gitlab Gitlab $($name),+);
        per_forge!(@forge gitea Gitea $($name),+);
        per_forge!(@forge forgejo Forgejo $($name),+);
        per_forge!(@forge azure_devops AzureDevops $($name),+);
    };
    (@forge $module:ident $forge:ident $($name:ident),+) => {
        mod $module {
            $(#[test]
            fn $name() {
                super::$name(crate::reconcile::Forge::$forge)
            })+
        }
    };
}

mod batched;
mod bench;
mod bench_concurrency;
mod boundary;
mod cache;
mod computed;
mod concurrency;
mod dashboard;
mod faults;
mod forge;
mod gate_command;
mod gates;
mod hold;
mod lifecycle;
mod noop;
mod output;
mod pacing;
mod race;
mod scenarios;
mod strategies;
mod tls;
mod transport;

pub(crate) use forge::{Forge, Kind};

pub(crate) use crate::support::world::{Api, NAME, OWNER, TOKEN, World, output};
