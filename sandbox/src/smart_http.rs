//! Git smart HTTP (clone, fetch, push) at `/{owner}/{name}.git/...`, by running `git http-backend`
//! as a CGI program — so this part of the sandbox needs the git CLI on `PATH`. Credentials are
//! checked as on github.com: HTTP basic auth, any user name, the token as the password. Owns the
//! CGI exchange only; the repositories belong to the store.

use std::io::{Read, Write};
use std::process::{Command, Stdio};

use base64::Engine;

use super::server::{Incoming, Reply, Shared, decode, lock};

/// `(owner, name)` when `path` addresses a repository over git smart HTTP; `owner` may be a
/// nested group path (`/group/sub/deploy.git/info/refs`).
pub(crate) fn repo_of(path: &str) -> Option<(String, String)> {
    let rest = ["/info/refs", "/git-upload-pack", "/git-receive-pack"];
    let repo = rest.iter().find_map(|end| path.strip_suffix(end))?;
    let (owner, name) = repo.trim_start_matches('/').rsplit_once('/')?;
    let name = name.strip_suffix(".git")?;
    let valid = !owner.is_empty()
        && !name.is_empty()
        && owner
            .split('/')
            .all(|segment| !segment.is_empty() && segment != "..");
    valid.then(|| (decode(owner), decode(name)))
}

pub(crate) fn answer(shared: &Shared, incoming: &Incoming) -> Reply {
    let Some((owner, name)) = repo_of(&incoming.path) else {
        return Reply::text(404, "Not Found");
    };
    let Some(login) = basic_auth_user(shared, incoming) else {
        // git asks its credential helpers after a 401 with a Basic challenge, as with github.com.
        let mut reply = Reply::text(401, "Authentication required\n");
        reply.set_header("www-authenticate", "Basic realm=\"Sandbox\"");
        return reply;
    };
    let full_name = format!("{owner}/{name}");
    if lock(&shared.store).repo(&full_name).is_err() {
        return Reply::text(404, "Repository not found.\n");
    }
    match run_backend(shared, incoming, &login) {
        Ok(reply) => reply,
        Err(error) => Reply::text(500, &format!("git http-backend failed: {error:#}\n")),
    }
}

/// The login of the token given as the basic-auth password, if it is a known token.
fn basic_auth_user(shared: &Shared, incoming: &Incoming) -> Option<String> {
    let header = incoming.header("authorization")?;
    // Bitbucket Data Center takes HTTP access tokens for git as `Authorization: Bearer` (project
    // and repository tokens only so).
    if let Some(token) = header.strip_prefix("Bearer ") {
        return lock(&shared.store)
            .token_owner(token.trim())
            .map(|user| user.login);
    }
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (_, password) = text.split_once(':')?;
    lock(&shared.store)
        .token_owner(password)
        .map(|user| user.login)
}

fn run_backend(shared: &Shared, incoming: &Incoming, login: &str) -> anyhow::Result<Reply> {
    let mut command = Command::new("git");
    command
        .arg("http-backend")
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        // Keep the machine's and the user's git config out of the forge.
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("HOME", &shared.root)
        .env("GIT_PROJECT_ROOT", &shared.root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        // git-http-backend(1): receive-pack is served when http.receivepack is true.
        .env("GIT_CONFIG_COUNT", "1")
        .env("GIT_CONFIG_KEY_0", "http.receivepack")
        .env("GIT_CONFIG_VALUE_0", "true")
        .env("PATH_INFO", decode(&incoming.path))
        .env("REMOTE_USER", login)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("QUERY_STRING", &incoming.query)
        .env("REQUEST_METHOD", &incoming.method)
        .env("CONTENT_LENGTH", incoming.body.len().to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(content_type) = incoming.header("content-type") {
        command.env("CONTENT_TYPE", content_type);
    }
    // http-backend inflates gzip'd request bodies itself when told the encoding.
    if let Some(encoding) = incoming.header("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    if let Some(protocol) = incoming.header("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    let mut child = command.spawn().map_err(|error| {
        anyhow::anyhow!("starting `git http-backend` (is git installed?): {error}")
    })?;
    let mut stdin = child.stdin.take().expect("stdin was piped");
    let body = incoming.body.clone();
    // Feed the body on its own thread so a backend that answers while reading cannot deadlock.
    let feeder = std::thread::spawn(move || stdin.write_all(&body));
    let mut output = Vec::new();
    child
        .stdout
        .take()
        .expect("stdout was piped")
        .read_to_end(&mut output)?;
    let mut errors = String::new();
    child
        .stderr
        .take()
        .expect("stderr was piped")
        .read_to_string(&mut errors)?;
    let _ = feeder.join();
    let status = child.wait()?;
    if output.is_empty() && !status.success() {
        anyhow::bail!("{}", errors.trim());
    }
    Ok(parse_cgi(&output))
}

/// Splits CGI output into a reply: headers up to the blank line, `Status:` as the status code.
pub(crate) fn parse_cgi(output: &[u8]) -> Reply {
    let (head, body) = match find(output, b"\r\n\r\n") {
        Some(at) => (&output[..at], &output[at + 4..]),
        None => match find(output, b"\n\n") {
            Some(at) => (&output[..at], &output[at + 2..]),
            None => (&output[..0], output),
        },
    };
    let mut reply = Reply {
        status: 200,
        headers: Vec::new(),
        body: body.to_vec(),
    };
    for line in String::from_utf8_lossy(head).lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim().to_ascii_lowercase(), value.trim());
        if name == "status" {
            reply.status = value
                .split_whitespace()
                .next()
                .and_then(|code| code.parse().ok())
                .unwrap_or(500);
        } else {
            reply.headers.push((name, value.to_owned()));
        }
    }
    reply
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_paths_are_recognised_only_for_git_endpoints() {
        assert_eq!(
            repo_of("/acme/deploy.git/info/refs"),
            Some(("acme".into(), "deploy".into()))
        );
        assert!(repo_of("/acme/deploy.git/git-receive-pack").is_some());
        assert!(repo_of("/acme/deploy/info/refs").is_none());
        assert!(repo_of("/acme/deploy.git/HEAD").is_none());
        assert!(repo_of("/api/v3/repos/acme/deploy").is_none());
        assert_eq!(
            repo_of("/acme/team/deploy.git/git-upload-pack"),
            Some(("acme/team".into(), "deploy".into()))
        );
        assert!(repo_of("/acme/../deploy.git/info/refs").is_none());
    }

    #[test]
    fn cgi_output_becomes_status_headers_and_body() {
        let reply = parse_cgi(b"Status: 403 Forbidden\r\nContent-Type: text/plain\r\n\r\nno");
        assert_eq!(reply.status, 403);
        assert_eq!(
            reply.headers,
            vec![("content-type".to_owned(), "text/plain".to_owned())]
        );
        assert_eq!(reply.body, b"no");
        assert_eq!(parse_cgi(b"Expires: x\n\nbody").status, 200);
    }
}
