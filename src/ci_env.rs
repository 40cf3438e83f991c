//! Which CI system we run in, and reading its variables, always through an env lookup closure
//! (`&dyn Fn(&str) -> Option<String>`) so tests pass a table instead of touching the process
//! environment. Owns detection only; what the variables mean for promotion.yaml is in `config`.

/// The environment as promoter sees it: a lookup by variable name.
pub(crate) type Env<'a> = &'a (dyn Fn(&str) -> Option<String> + Sync);

/// The CI system promoter runs in, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ci {
    /// `GITHUB_ACTIONS=true` (also set by Gitea and Forgejo Actions).
    GithubActions,
    /// `GITLAB_CI=true`.
    GitlabCi,
}

/// Detects the CI system from its documented marker variable.
pub(crate) fn detect(env: Env<'_>) -> Option<Ci> {
    if is_github_actions(env) {
        Some(Ci::GithubActions)
    } else if is_gitlab_ci(env) {
        Some(Ci::GitlabCi)
    } else {
        None
    }
}

/// GitHub Actions sets `GITHUB_ACTIONS=true` in every step
/// (docs.github.com/actions/reference/variables-reference#default-environment-variables).
pub(crate) fn is_github_actions(env: Env<'_>) -> bool {
    var(env, "GITHUB_ACTIONS").as_deref() == Some("true")
}

/// GitLab CI sets `GITLAB_CI=true` in every job (docs.gitlab.com/ci/variables/predefined_variables).
pub(crate) fn is_gitlab_ci(env: Env<'_>) -> bool {
    var(env, "GITLAB_CI").as_deref() == Some("true")
}

/// A variable's value, trimmed; unset and blank are the same.
pub(crate) fn var(env: Env<'_>, name: &str) -> Option<String> {
    env(name)
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
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

    #[test]
    fn detects_the_ci_system_from_its_marker_variable() {
        type Vars = &'static [(&'static str, &'static str)];
        let cases: [(Vars, Option<Ci>); 5] = [
            (&[], None),
            (&[("GITHUB_ACTIONS", "true")], Some(Ci::GithubActions)),
            (&[("GITLAB_CI", "true")], Some(Ci::GitlabCi)),
            (&[("GITHUB_ACTIONS", "false")], None),
            (&[("GITLAB_CI", "")], None),
        ];
        for (vars, expected) in cases {
            assert_eq!(detect(&table(vars)), expected, "{vars:?}");
        }
    }

    #[test]
    fn blank_variables_count_as_unset() {
        let env = table(&[("A", "  "), ("B", " x ")]);
        assert_eq!(var(&env, "A"), None);
        assert_eq!(var(&env, "B").as_deref(), Some("x"));
    }
}
