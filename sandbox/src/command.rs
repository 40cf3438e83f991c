//! `promoter sandbox`: runs the forge in the foreground until Ctrl-C. The first stdout line is the
//! base URL; then a ready `scm`/`repository` snippet for promotion.yaml, and comment lines with the
//! GitLab, Gitea/Forgejo and Bitbucket dialects' API URLs. The token is never
//! printed: the snippet names the environment variable to put it in.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::sync::mpsc;

use anyhow::{Context, Result};

use super::{Sandbox, Token};

/// The token when `--token` is not given. The sandbox is a local toy; say so in `--help`.
pub const DEFAULT_TOKEN: &str = "sandbox";
/// The repository created when the root holds none.
const DEFAULT_REPO: (&str, &str) = ("acme", "deploy");

/// What `promoter sandbox` was asked for; the command line that fills it is promoter's.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Directory holding the bare repositories (`<owner>/<name>.git`); created when missing.
    pub root: PathBuf,
    /// Port on 127.0.0.1 (0 = any free port).
    pub port: u16,
    /// The API and git token the forge accepts; [`DEFAULT_TOKEN`] when `None`.
    pub token: Option<String>,
}

pub fn run_command(args: &SandboxOptions) -> Result<()> {
    let token = Token::new(
        args.token
            .clone()
            .unwrap_or_else(|| DEFAULT_TOKEN.to_owned()),
    );
    let sandbox = Sandbox::start_on_port(&args.root, &token, args.port)?;
    let (owner, name) = {
        let names = super::lock(&sandbox.shared.store).repo_names();
        match names.first().and_then(|full| full.rsplit_once('/')) {
            Some((owner, name)) => (owner.to_owned(), name.to_owned()),
            None => {
                sandbox.create_repo(DEFAULT_REPO.0, DEFAULT_REPO.1)?;
                (DEFAULT_REPO.0.to_owned(), DEFAULT_REPO.1.to_owned())
            }
        }
    };
    let (stopped, wait) = mpsc::channel();
    ctrlc::set_handler(move || {
        // The receiver lives until the end of this function; a second Ctrl-C finds it gone.
        let _ = stopped.send(());
    })
    .context("installing the Ctrl-C handler")?;
    print(&format!(
        "{}\n{}\n",
        sandbox.base_url(),
        snippet(&sandbox, &owner, &name)
    ))
    .context("writing the sandbox address to stdout")?;
    eprintln!(
        "sandbox forge serving {} (repositories under {}); put the token in SANDBOX_TOKEN{}; Ctrl-C stops it",
        sandbox.base_url(),
        args.root.display(),
        if args.token.is_some() {
            ""
        } else {
            " (default token: `sandbox`)"
        }
    );
    wait.recv().context("waiting for Ctrl-C")?;
    eprintln!("sandbox forge stopped");
    drop(sandbox);
    Ok(())
}

/// Writes `text` to stdout and flushes it. A reader that went away (`| head -1`) is not an error:
/// the forge keeps serving.
fn print(text: &str) -> io::Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn snippet(sandbox: &Sandbox, owner: &str, name: &str) -> String {
    format!(
        "scm:\n  provider: github\n  apiUrl: {}\n  tokenEnv: SANDBOX_TOKEN\nrepository:\n  owner: {owner}\n  name: {name}\n  cloneUrl: {}\n# GitLab dialect: provider: gitlab, apiUrl: {}\n# Gitea dialect: provider: gitea or forgejo, apiUrl: {}\n# Bitbucket dialect: provider: bitbucket, apiUrl: {}\n# Azure DevOps dialect: provider: azure-devops, apiUrl: {}, owner: {}/{owner}\n# Bitbucket Data Center dialect: provider: bitbucket-server, apiUrl: {}",
        sandbox.api_url(),
        sandbox.clone_url(owner, name),
        sandbox.gitlab_api_url(),
        sandbox.gitea_api_url(),
        sandbox.bitbucket_api_url(),
        sandbox.azure_api_url(),
        crate::AZURE_ORGANIZATION,
        sandbox.base_url()
    )
}
