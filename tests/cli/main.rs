//! The one integration test binary: `mod x;` per area, shared helpers in `support/`.

// Everything in this binary is test code; a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod actions;
mod bitbucket;
mod config;
mod config_hostile;
mod config_mutations;
mod demo;
mod dependencies;
mod docs;
mod examples;
mod gitea;
mod github_app;
mod gitlab;
mod insight;
mod pipe;
mod reconcile;
mod sandbox_command;
mod sections;
mod support;
