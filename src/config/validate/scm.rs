//! The `scm`, `repository` and `pullRequest` sections: provider, API URL, credentials, the
//! repository and its URLs (defaults from `defaults.rs`), and the PR templates (rendered).

use std::path::Path;

use crate::ci_env::{self, Env};
use crate::reconcile::text::check_templates;

use super::super::raw;
use super::super::{
    GithubApp, PrivateKeySource, Provider, PullRequestTemplates, Repository, ScmConfig, defaults,
};
use super::{Checker, check_env_name};
use crate::scm::RepoPath;

impl Checker<'_> {
    /// The SCM settings and whether `apiUrl` was written in the file.
    pub(super) fn scm(&mut self, raw: &raw::RawScm) -> Option<(ScmConfig, bool)> {
        let provider = raw.provider;
        let written = raw.api_url.as_deref().map(str::trim);
        let variable = match written {
            Some(_) => None,
            None => defaults::api_url_variable(provider, self.env),
        };
        let api_url = match defaults::api_url(provider, written, self.env) {
            Some(url) if self.refuse_userinfo(&url, "scm.apiUrl", variable) => None,
            Some(url) => match defaults::check_http_url(&url) {
                Ok(()) => Some(url),
                Err(message) => {
                    let source = variable.map_or(String::new(), |name| format!(" (from `{name}`)"));
                    self.at_value("scm.apiUrl", format!("{message}{source}"))
                        .hint = Some("write the API base, e.g. `https://api.github.com`".into());
                    None
                }
            },
            None => {
                let name = provider.as_str();
                self.at_value(
                    "scm.apiUrl",
                    format!("`apiUrl` is required for provider `{name}`"),
                )
                .hint = Some(format!(
                    "the API base of your {name} instance, e.g. `https://{name}.example.com{}`",
                    provider.info().api.suffix
                ));
                None
            }
        };
        let token_env = match raw.token_env.as_deref() {
            Some(name) => {
                if let Err(message) = check_env_name(name) {
                    self.at_value("scm.tokenEnv", message);
                }
                name.to_owned()
            }
            None => provider.default_token_env().to_owned(),
        };
        let username_env = raw.username_env.as_deref().map(|name| {
            if let Err(message) = check_env_name(name) {
                self.at_value("scm.usernameEnv", message);
            }
            name.to_owned()
        });
        let github_app = match &raw.github_app {
            Some(app) => self.github_app(app, provider, raw.token_env.is_some()),
            None => Some(None),
        };
        let ca_file = match raw.ca_file.as_deref().map(str::trim) {
            Some("") => {
                self.at_value("scm.caFile", "the CA file path is empty");
                return None;
            }
            // Relative to the config file, like privateKeyPath.
            Some(ca_file) => Some(self.file.parent().unwrap_or(Path::new("")).join(ca_file)),
            None => None,
        };
        Some((
            ScmConfig {
                provider,
                api_url: api_url?,
                token_env,
                username_env,
                github_app: github_app?,
                ca_file,
            },
            written.is_some(),
        ))
    }

    fn github_app(
        &mut self,
        app: &raw::RawGithubApp,
        provider: Provider,
        token_env_written: bool,
    ) -> Option<Option<GithubApp>> {
        let path = "scm.githubApp";
        let mut ok = true;
        if provider != Provider::Github {
            ok = false;
            self.at_value(
                path,
                "`githubApp` is only supported with `provider: github`",
            )
            .hint = Some(format!(
                "{} authenticates with a token: remove `githubApp` and set `tokenEnv`",
                provider.as_str()
            ));
        }
        if token_env_written {
            ok = false;
            self.at_value(path, "`githubApp` and `tokenEnv` cannot both be set")
                .hint =
                Some("the App's installation token replaces the token: remove one of them".into());
        }
        let private_key = match (&app.private_key_env, &app.private_key_path) {
            (Some(name), None) => match check_env_name(name) {
                Ok(()) => Some(PrivateKeySource::Env(name.clone())),
                Err(message) => {
                    self.at_value("scm.githubApp.privateKeyEnv", message);
                    None
                }
            },
            (None, Some(key_path)) if !key_path.trim().is_empty() => {
                let key_path = Path::new(key_path.trim());
                // Relative to the config file, so the job's working directory does not matter.
                let base = self.file.parent().unwrap_or(Path::new(""));
                Some(PrivateKeySource::Path(base.join(key_path)))
            }
            (None, Some(_)) => {
                self.at_value(
                    "scm.githubApp.privateKeyPath",
                    "the private key path is empty",
                );
                None
            }
            (Some(_), Some(_)) | (None, None) => {
                self.at_value(
                    path,
                    "`githubApp` needs exactly one of `privateKeyEnv` and `privateKeyPath`",
                )
                .hint =
                    Some("name the variable holding the PEM key, or the key file's path".into());
                None
            }
        };
        let private_key = private_key?;
        ok.then_some(Some(GithubApp {
            app_id: app.app_id,
            installation_id: app.installation_id,
            private_key,
        }))
    }

    pub(super) fn repository(
        &mut self,
        raw: Option<&raw::RawRepository>,
        (scm, api_url_written): &(ScmConfig, bool),
    ) -> Option<Repository> {
        let (owner, name, clone_url) = match raw {
            Some(raw) => {
                let owner = self.repository_part("repository.owner", &raw.owner, scm.provider);
                let name = self.repository_part("repository.name", &raw.name, scm.provider);
                let clone_url = match raw.clone_url.as_deref().map(str::trim) {
                    Some("") => {
                        self.at_value("repository.cloneUrl", "`cloneUrl` is empty")
                            .hint = Some("remove it to derive it from the SCM's web URL".into());
                        return None;
                    }
                    Some(url) if self.refuse_userinfo(url, "repository.cloneUrl", None) => {
                        return None;
                    }
                    other => other.map(str::to_owned),
                };
                (owner?, name?, clone_url)
            }
            None => match defaults::repository_from_env(scm.provider, self.env) {
                Some((owner, name, _)) => (owner, name, None),
                None => {
                    let ci = &scm.provider.info().ci;
                    let inside = ci.repository.as_ref().map_or(String::new(), |from| {
                        format!(
                            "; it may be omitted only inside {} (`{}`)",
                            ci.name, from.variables
                        )
                    });
                    self.at_value("repository", "missing `repository`").hint =
                        Some(format!("add `repository:` with `owner` and `name`{inside}"));
                    return None;
                }
            },
        };
        if !api_url_written
            && let Some((variable, server)) = defaults::server_url(scm.provider, self.env)
            && self.refuse_userinfo(&server, "repository", Some(variable))
        {
            return None;
        }
        let web = defaults::web_base(scm.provider, &scm.api_url, *api_url_written, self.env);
        let urls = &scm.provider.info().web;
        let path = RepoPath::new(&owner, &name);
        let web_url = (urls.repository)(&web, &path);
        Some(Repository {
            clone_url: clone_url.unwrap_or_else(|| (urls.clone)(&web, &path)),
            web_url,
            owner,
            name,
        })
    }

    /// Refuses a URL holding a user name or password: promoter copies the web and API URLs into
    /// pull requests, reports and logs, so a secret there would be published. The message shows
    /// the URL redacted. `variable`: the CI variable the URL came from, when not from the file.
    fn refuse_userinfo(&mut self, url: &str, path: &str, variable: Option<&str>) -> bool {
        let Some(shown) = defaults::redact_userinfo(url) else {
            return false;
        };
        let (message, hint) = match variable {
            None => (
                format!("`{shown}` has credentials in the URL (a user name or password before `@`)"),
                "remove `user:password@`: promoter authenticates with the token in the variable named by `scm.tokenEnv` (or PROMOTER_TOKEN) and never puts it in a URL; a URL with credentials would be copied into pull requests and reports".to_owned(),
            ),
            Some(name) => (
                format!("the environment variable `{name}` has credentials in its URL (`{shown}`)"),
                format!(
                    "set {name} without `user:password@`, or write the URL in promotion.yaml; the token belongs in the variable named by `scm.tokenEnv` (or PROMOTER_TOKEN)"
                ),
            ),
        };
        self.at_value(path, message).hint = Some(hint);
        true
    }

    fn repository_part(&mut self, path: &str, text: &str, provider: Provider) -> Option<String> {
        let text = text.trim();
        let is_owner = path.ends_with("owner");
        let problem = if text.is_empty() {
            Some(("is empty".to_owned(), None))
        } else if text.contains(char::is_whitespace) {
            Some(("cannot contain spaces".to_owned(), None))
        } else if text.starts_with('/') || text.ends_with('/') || text.contains("//") {
            Some((
                "cannot start or end with `/` or contain `//`".to_owned(),
                None,
            ))
        } else if text.contains('/') && !is_owner {
            let hint = "put the namespace in `owner` and only the repository's name in `name`";
            Some(("cannot contain `/`".to_owned(), Some(hint.to_owned())))
        } else if is_owner && !provider.info().owner.accepts(text.split('/').count()) {
            Some(owner_shape_problem(provider))
        } else if !is_owner && text.ends_with(".git") {
            Some((
                "ends with `.git`".to_owned(),
                Some("write the name without `.git`".to_owned()),
            ))
        } else {
            None
        };
        match problem {
            None => Some(text.to_owned()),
            Some((message, hint)) => {
                let what = if is_owner { "owner" } else { "name" };
                let problem =
                    self.at_value(path, format!("the repository {what} `{text}` {message}"));
                problem.hint = hint;
                None
            }
        }
    }

    pub(super) fn pull_request(
        &mut self,
        raw: Option<&raw::RawPullRequest>,
    ) -> PullRequestTemplates {
        let Some(raw) = raw else {
            return PullRequestTemplates::default();
        };
        if raw.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            self.at_value("pullRequest.title", "the title template is empty")
                .hint = Some("remove `title` to use the default title".into());
        }
        let templates = PullRequestTemplates {
            title: raw.title.clone(),
            description: raw.description.clone(),
            hold_label: self.hold_label(raw.hold_label.as_deref()),
        };
        // Rendered, not only parsed: a misspelt variable (`shortsha`) would otherwise pass here
        // and fail every environment of every run.
        for problem in check_templates(&templates) {
            let path = problem.field.key_path();
            let key = path.trim_start_matches("pullRequest.");
            // The message names the template line (`at line 2`) when minijinja knows it.
            self.at_value(
                path,
                format!("the {key} template does not render: {}", problem.message),
            )
            .hint = Some(template_hint(&problem.message).into());
        }
        templates
    }
}

/// Why an owner (which has no empty segment) does not fit the provider's
/// [`OwnerShape`](crate::scm::registry::OwnerShape), with a hint naming the shapes that exist.
fn owner_shape_problem(provider: Provider) -> (String, Option<String>) {
    let info = provider.info();
    match info.owner.what() {
        Some(what) => (
            format!("is not {what}"),
            Some(format!("{} owners are {what}", info.product)),
        ),
        None => {
            let shapes: Vec<String> = Provider::ALL
                .iter()
                .filter_map(|p| {
                    let info = p.info();
                    let what = info.owner.what()?;
                    Some(format!("{} owners are {what}", info.product))
                })
                .collect();
            (
                "cannot contain `/`".to_owned(),
                Some(format!("only {}", shapes.join(", "))),
            )
        }
    }
}

fn template_hint(message: &str) -> &'static str {
    if message.contains("undefined") {
        "validate renders templates with every documented variable set, so this name is not one of them (names are case-sensitive: `proposed.dry.shortSha`); see docs/configuration.md"
    } else if message.contains("fuel") {
        "the template does too much work (a loop inside a loop, or very long strings); one render may run 1,000,000 template instructions"
    } else {
        "see docs/configuration.md for the template syntax and variables"
    }
}

/// The CI-derived facts `validate` mentions; kept here so the wording of defaults stays in one place.
pub(crate) fn token_hint(scm: &ScmConfig, env: Env<'_>) -> String {
    let ci = match ci_env::detect(env) {
        Some(ci_env::Ci::GithubActions) => {
            " (in GitHub Actions: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}`)"
        }
        Some(ci_env::Ci::GitlabCi) => " (in GitLab CI: a masked CI/CD variable)",
        None => "",
    };
    format!(
        "export {} or {} with an API token{ci}",
        scm.token_env,
        super::super::PROMOTER_TOKEN
    )
}

impl Checker<'_> {
    /// What the provider cannot do is refused here, where it is written, rather than warned
    /// about every pass: a hold label where pull requests have no labels (it would never hold),
    /// a dashboard where the repository has no issues.
    pub(super) fn provider_can(
        &mut self,
        provider: crate::config::Provider,
        hold_label: bool,
        dashboard: bool,
    ) {
        let info = provider.info();
        if hold_label && !info.pr_labels {
            self.at_value(
                "pullRequest.holdLabel",
                format!(
                    "{} pull requests have no labels, so a hold label could never hold a promotion",
                    info.product
                ),
            )
            .hint = Some(
                "remove `holdLabel`; to hold a promotion, keep a gate pending: `promoter gate set KEY pending`"
                    .into(),
            );
        }
        if dashboard && !info.issues {
            self.at_value(
                "dashboard.enabled",
                format!(
                    "{} has no issues in which to keep the dashboard issue",
                    info.product
                ),
            )
            .hint = Some(
                "remove `dashboard` (or set `enabled: false`); `promoter status --output markdown` prints the same table"
                    .into(),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::tests::problems;
    use super::owner_shape_problem;
    use crate::config::{PrivateKeySource, Provider, parse};

    const STRATEGIES: &str =
        "strategies:\n  - name: app\n    environments:\n      - branch: env/dev\n";

    fn file(scm_and_repository: &str) -> String {
        format!("{scm_and_repository}{STRATEGIES}")
    }

    #[test]
    fn a_provider_without_issues_or_labels_refuses_the_dashboard_or_a_hold_label_where_written() {
        let config = |provider: &str, extra: &str| {
            // Azure DevOps owners are `organization/project`.
            let owner = if provider == "azure-devops" {
                "acme/ops"
            } else {
                "acme"
            };
            format!(
                "scm:\n  provider: {provider}\n  apiUrl: https://scm.example.com\nrepository:\n  owner: {owner}\n  name: deploy\n{extra}strategies:\n  - name: app\n    environments:\n      - branch: environment/dev\n"
            )
        };
        let dashboard = "dashboard:\n  enabled: true\n";
        let hold = "pullRequest:\n  holdLabel: wait\n";
        for provider in ["azure-devops", "bitbucket-server"] {
            let found = problems(&config(provider, dashboard));
            assert!(
                found.len() == 1
                    && found[0].starts_with("8:12 dashboard.enabled: ")
                    && found[0].contains("has no issues"),
                "{provider}: {found:?}"
            );
            // Off, or the default, is no problem.
            let off = problems(&config(provider, "dashboard:\n  enabled: false\n"));
            assert!(
                off.iter().all(|p| !p.contains("dashboard")),
                "{provider}: {off:?}"
            );
        }
        for provider in ["bitbucket", "bitbucket-server"] {
            let found = problems(&config(provider, hold));
            assert!(
                found.len() == 1
                    && found[0].starts_with("8:14 pullRequest.holdLabel: ")
                    && found[0].contains("have no labels"),
                "{provider}: {found:?}"
            );
        }
        for provider in ["github", "gitlab", "gitea", "forgejo"] {
            let both = config(provider, &format!("{dashboard}{hold}"));
            let found = problems(&both);
            assert!(
                found
                    .iter()
                    .all(|p| !p.contains("no issues") && !p.contains("no labels")),
                "{provider}: {found:?}"
            );
        }
    }

    #[test]
    fn github_app_needs_exactly_one_key_source_and_no_token_env() {
        let text = file(
            "scm:\n  provider: github\n  tokenEnv: 1BAD\n  githubApp:\n    appId: 1\n    privateKeyEnv: KEY\n    privateKeyPath: key.pem\n\
             repository:\n  owner: acme\n  name: deploy\n",
        );
        assert_eq!(
            problems(&text),
            [
                "3:13 scm.tokenEnv: `1BAD` is not an environment variable name (letters, digits and `_`, not starting with a digit)",
                "5:5 scm.githubApp: `githubApp` and `tokenEnv` cannot both be set",
                "5:5 scm.githubApp: `githubApp` needs exactly one of `privateKeyEnv` and `privateKeyPath`",
            ]
        );
    }

    #[test]
    fn a_private_key_path_is_relative_to_the_config_file() {
        let text = file(
            "scm:\n  provider: github\n  githubApp:\n    appId: 1\n    privateKeyPath: keys/app.pem\nrepository:\n  owner: acme\n  name: deploy\n",
        );
        let config = parse(&text, Path::new("deploy/promotion.yaml"), &|_| None).unwrap();
        let app = config.scm.github_app.unwrap();
        assert_eq!(
            app.private_key,
            PrivateKeySource::Path("deploy/keys/app.pem".into())
        );
        assert_eq!(app.installation_id, None);
    }

    #[test]
    fn the_owner_hint_names_the_providers_whose_owners_are_paths() {
        assert_eq!(
            owner_shape_problem(Provider::Github),
            (
                "cannot contain `/`".to_owned(),
                Some("only GitLab owners are namespace paths (`group/subgroup`), Azure DevOps owners are `organization/project`".to_owned())
            )
        );
    }

    #[test]
    fn repository_names_are_checked_per_provider() {
        let github =
            file("scm:\n  provider: github\nrepository:\n  owner: acme/team\n  name: deploy.git\n");
        assert_eq!(
            problems(&github),
            [
                "4:10 repository.owner: the repository owner `acme/team` cannot contain `/`",
                "5:9 repository.name: the repository name `deploy.git` ends with `.git`",
            ]
        );
        let gitlab =
            file("scm:\n  provider: gitlab\nrepository:\n  owner: acme/team\n  name: deploy\n");
        assert_eq!(problems(&gitlab), Vec::<String>::new());
    }

    #[test]
    fn api_urls_must_be_http_and_are_required_for_gitea() {
        let text = file(
            "scm:\n  provider: forgejo\n  apiUrl: codeberg.org\nrepository:\n  owner: a\n  name: b\n",
        );
        assert_eq!(
            problems(&text),
            ["3:11 scm.apiUrl: `codeberg.org` is not an http(s) URL"]
        );
    }

    #[test]
    fn credentials_in_urls_are_refused_without_echoing_them() {
        let api = file(
            "scm:\n  provider: github\n  apiUrl: https://bot:ghp_SECRET1@ghe.acme.io/api/v3\n\
             repository:\n  owner: acme\n  name: deploy\n",
        );
        assert_eq!(
            problems(&api),
            [
                "3:11 scm.apiUrl: `https://***@ghe.acme.io/api/v3` has credentials in the URL (a user name or password before `@`)"
            ]
        );
        let clone = file(
            "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\n  \
             cloneUrl: https://x-access-token:SECRET2@github.com/acme/deploy.git\n",
        );
        assert_eq!(
            problems(&clone),
            [
                "6:13 repository.cloneUrl: `https://***@github.com/acme/deploy.git` has credentials in the URL (a user name or password before `@`)"
            ]
        );
        for text in [api, clone] {
            let errors = parse(&text, Path::new("promotion.yaml"), &|_| None).unwrap_err();
            let shown = errors.to_string();
            assert!(
                !shown.contains("SECRET") && !shown.contains("bot"),
                "{shown}"
            );
            assert!(shown.contains("hint: remove `user:password@`"), "{shown}");
        }
    }

    #[test]
    fn credentials_in_ci_server_urls_are_refused_naming_the_variable() {
        let text = file("scm:\n  provider: gitlab\nrepository:\n  owner: acme\n  name: deploy\n");
        let env = |name: &str| match name {
            "CI_API_V4_URL" => Some("https://ci:SECRET@git.acme.io/api/v4".to_owned()),
            "CI_SERVER_URL" => Some("https://ci:SECRET@git.acme.io".to_owned()),
            _ => None,
        };
        let errors = parse(&text, Path::new("promotion.yaml"), &env).unwrap_err();
        let shown = errors.to_string();
        assert!(!shown.contains("SECRET"), "{shown}");
        assert!(
            shown.contains("scm.apiUrl: the environment variable `CI_API_V4_URL` has credentials in its URL (`https://***@git.acme.io/api/v4`)"),
            "{shown}"
        );
        let env = |name: &str| {
            (name == "CI_SERVER_URL").then(|| "https://ci:SECRET@git.acme.io".to_owned())
        };
        let shown = parse(&text, Path::new("promotion.yaml"), &env)
            .unwrap_err()
            .to_string();
        assert_eq!(
            shown,
            "promotion.yaml:4:3: repository: the environment variable `CI_SERVER_URL` has credentials in its URL (`https://***@git.acme.io`)\n  \
             hint: set CI_SERVER_URL without `user:password@`, or write the URL in promotion.yaml; the token belongs in the variable named by `scm.tokenEnv` (or PROMOTER_TOKEN)"
        );
    }

    #[test]
    fn templates_with_a_misspelt_variable_are_reported_at_their_key() {
        let text = file(
            "scm:\n  provider: github\nrepository:\n  owner: a\n  name: b\npullRequest:\n  title: \"Promote {{ proposed.dry.shortSha }}\"\n  description: |\n    Ok\n    {{ proposed.dry.shortsha }}\n",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "9:5 pullRequest.description: the description template does not render: undefined value at line 2: `proposed.dry.shortsha` is undefined"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn templates_with_syntax_errors_are_reported() {
        let text = file(
            "scm:\n  provider: github\nrepository:\n  owner: a\n  name: b\npullRequest:\n  title: \"Promote {{ proposed.dry.shortSha \"\n  description: \"\"\n",
        );
        let found = problems(&text);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "7:10 pullRequest.title: the title template does not render: syntax error"
            ),
            "{found:?}"
        );
    }

    #[test]
    fn the_hold_label_defaults_to_promoter_hold_and_is_one_short_line() {
        let base = "scm:\n  provider: github\nrepository:\n  owner: acme\n  name: deploy\n";
        let load = |extra: &str| {
            parse(
                &format!("{base}{extra}{STRATEGIES}"),
                Path::new("promotion.yaml"),
                &|_| None,
            )
        };
        assert_eq!(load("").unwrap().pull_request.hold_label(), "promoter:hold");
        assert_eq!(
            load("pullRequest:\n  holdLabel: \" do-not-promote \"\n")
                .unwrap()
                .pull_request
                .hold_label(),
            "do-not-promote"
        );
        let long = "x".repeat(51);
        for bad in ["\"  \"", "\"a\\nb\"", long.as_str()] {
            let text = format!("{base}pullRequest:\n  holdLabel: {bad}\n{STRATEGIES}");
            let got = problems(&text);
            assert_eq!(got.len(), 1, "{bad}: {got:?}");
            assert!(
                got[0].starts_with("7:14 pullRequest.holdLabel: the hold label"),
                "{got:?}"
            );
        }
    }
}
