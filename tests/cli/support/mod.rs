//! Helpers shared by the integration tests: the promoter binary with a clean environment, repo
//! paths, and env lookup tables.

#![allow(dead_code)]

pub(crate) mod clock;
pub(crate) mod tls;
pub(crate) mod world;

use std::path::{Path, PathBuf};

/// The crate root; tests run commands from here so relative paths in messages are stable.
pub(crate) fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn data(relative: &str) -> PathBuf {
    root().join("tests/data").join(relative)
}

/// `promoter` with an empty environment (no token, no CI variables) run from the crate root.
pub(crate) fn promoter() -> assert_cmd::Command {
    assert_cmd::Command::from_std(promoter_process())
}

/// [`promoter`] as a plain process, for tests that wire its stdio themselves.
pub(crate) fn promoter_process() -> std::process::Command {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin!("promoter"));
    command.env_clear().current_dir(root());
    command
}

/// An env lookup closure over a fixed table.
pub(crate) fn env_table(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |name| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}
