//! What `promoter validate` prints: the resolved configuration as plain text (stdout), and the
//! warnings about credentials that are not set (stderr). Never prints a secret's value: only the
//! names of the variables that hold it.
//!
//! Owns this rendering only; the report of a reconcile pass lives elsewhere.

use std::fmt::Write as _;

use crate::ci_env::{Env, var};

use super::{Config, Gate, PROMOTER_TOKEN, PrivateKeySource, format_duration, validate};

/// The resolved strategies and environments, deterministic for a given config.
pub(crate) fn describe(config: &Config) -> String {
    let mut out = String::new();
    let scm = &config.scm;
    let repo = &config.repository;
    let _ = writeln!(out, "{}: valid", config.path.display());
    let _ = writeln!(out, "scm:        {} {}", scm.provider.as_str(), scm.api_url);
    let auth = match &scm.github_app {
        Some(app) => {
            let installation = app
                .installation_id
                .map_or("looked up for the repository".to_owned(), |id| {
                    id.to_string()
                });
            let key = match &app.private_key {
                PrivateKeySource::Env(name) => format!("${name}"),
                PrivateKeySource::Path(path) => path.display().to_string(),
            };
            format!(
                "GitHub App {} (installation {installation}, key {key})",
                app.app_id
            )
        }
        None => match &scm.username_env {
            // HTTP Basic: the token is the password of the user the variable names.
            Some(user) => format!(
                "token from ${PROMOTER_TOKEN}, else ${}, as the password of user ${user}",
                scm.token_env
            ),
            None => format!("token from ${PROMOTER_TOKEN}, else ${}", scm.token_env),
        },
    };
    let _ = writeln!(out, "auth:       {auth}");
    let _ = writeln!(out, "repository: {}", repo.full_name());
    let _ = writeln!(out, "clone url:  {}", repo.clone_url);
    let _ = writeln!(out, "web url:    {}", repo.web_url);
    let templates = [
        ("title", &config.pull_request.title),
        ("description", &config.pull_request.description),
    ]
    .iter()
    .map(|(name, t)| format!("{name} {}", if t.is_some() { "custom" } else { "default" }))
    .collect::<Vec<_>>()
    .join(", ");
    let _ = writeln!(out, "pr text:    {templates}");
    if let Some(dashboard) = &config.dashboard {
        let _ = writeln!(
            out,
            "dashboard:  issue \"{}\", written by reconcile",
            dashboard.title
        );
    }
    for strategy in &config.strategies {
        let _ = writeln!(out);
        let _ = write!(out, "strategy {}", strategy.name);
        if let Some(path) = &strategy.active_path {
            let _ = write!(out, " (activePath {path})");
        }
        let _ = writeln!(out);
        for (index, environment) in strategy.environments.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}", index + 1, environment.branch);
            let _ = writeln!(out, "     staging branch  {}", environment.staging_branch);
            let merge = if environment.auto_merge {
                "auto-merge"
            } else {
                "merged by a person"
            };
            let _ = writeln!(out, "     merge           {merge}");
            let _ = writeln!(
                out,
                "     active gates    {}",
                gate_list(&environment.active_gates)
            );
            let _ = writeln!(
                out,
                "     proposed gates  {}",
                gate_list(&environment.proposed_gates)
            );
        }
    }
    out
}

fn gate_list(gates: &[Gate]) -> String {
    if gates.is_empty() {
        return "none".into();
    }
    gates
        .iter()
        .map(|gate| match (gate.soak_time, &gate.computed) {
            (_, Some(definition)) => format!("{} ({})", gate.key, definition.kind.name()),
            (Some(soak), None) => format!("{} (soak time {})", gate.key, format_duration(soak)),
            (None, None) => gate.key.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One warning (with a hint) per credential that is missing in `env`. Names variables, never values.
pub(crate) fn credential_warnings(config: &Config, env: Env<'_>) -> Vec<(String, String)> {
    let scm = &config.scm;
    let mut warnings = token_warnings(config, env);
    if let Some(name) = &scm.username_env
        && var(env, name).is_none()
    {
        warnings.push((
            format!("{name} (scm.usernameEnv) is not set: the run will stop before any request"),
            format!("export {name} with the user name that goes with the token, or remove usernameEnv to send the token as an access token"),
        ));
    }
    warnings
}

fn token_warnings(config: &Config, env: Env<'_>) -> Vec<(String, String)> {
    let scm = &config.scm;
    match &scm.github_app {
        Some(app) => match &app.private_key {
            PrivateKeySource::Env(name) if var(env, name).is_none() => vec![(
                format!("{name} is not set: the GitHub App private key will be missing"),
                format!("export {name} with the App's PEM private key"),
            )],
            PrivateKeySource::Path(path) if !path.is_file() => vec![(
                format!(
                    "{} does not exist: the GitHub App private key will be missing",
                    path.display()
                ),
                "privateKeyPath is relative to the directory of the config file".into(),
            )],
            PrivateKeySource::Env(_) | PrivateKeySource::Path(_) => Vec::new(),
        },
        None if scm.token(env).is_none() => vec![(
            format!(
                "neither {PROMOTER_TOKEN} nor {} is set: API calls will fail",
                scm.token_env
            ),
            validate::token_hint(scm, env),
        )],
        None => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const TEXT: &str = "\
scm:
  provider: github
  tokenEnv: DEPLOY_TOKEN
repository:
  owner: acme
  name: deploy
strategies:
  - name: app
    activeCommitStatuses:
      - key: health
    environments:
      - branch: environment/dev
      - branch: environment/prod
        autoMerge: false
        activeCommitStatuses:
          - key: soak
            soakTime: 90m
";

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn describes_every_environment_with_its_branches_and_gates() {
        let config = crate::config::parse(TEXT, Path::new("promotion.yaml"), &env(&[])).unwrap();
        let text = describe(&config);
        assert!(text.contains("  2. environment/prod\n     staging branch  environment/prod-next\n     merge           merged by a person\n     active gates    health, soak (soak time 90m)\n     proposed gates  none\n"), "{text}");
        assert!(
            text.contains("auth:       token from $PROMOTER_TOKEN, else $DEPLOY_TOKEN\n"),
            "{text}"
        );
        assert!(
            text.contains("clone url:  https://github.com/acme/deploy.git\n"),
            "{text}"
        );
    }

    #[test]
    fn names_the_dashboard_only_when_it_is_on() {
        let config = crate::config::parse(TEXT, Path::new("promotion.yaml"), &env(&[])).unwrap();
        assert!(!describe(&config).contains("dashboard"));
        let on = format!("{TEXT}dashboard:\n  enabled: true\n");
        let config = crate::config::parse(&on, Path::new("promotion.yaml"), &env(&[])).unwrap();
        assert!(
            describe(&config)
                .contains("dashboard:  issue \"Promotion dashboard\", written by reconcile\n"),
            "{}",
            describe(&config)
        );
    }

    #[test]
    fn warns_about_a_missing_token_by_name_only() {
        let config = crate::config::parse(TEXT, Path::new("promotion.yaml"), &env(&[])).unwrap();
        let warnings = credential_warnings(&config, &env(&[]));
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].0.contains("DEPLOY_TOKEN"), "{warnings:?}");
        assert!(credential_warnings(&config, &env(&[("DEPLOY_TOKEN", "s3cr3t")])).is_empty());
        assert!(credential_warnings(&config, &env(&[("PROMOTER_TOKEN", "s3cr3t")])).is_empty());
    }
}
