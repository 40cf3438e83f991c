//! `dashboard:` (docs/insight.md "Dashboard"; docs/design.md §2 is silent, docs/configuration.md
//! decides): off unless `enabled: true`; the title is one line of 1 to 255 characters.

use super::Checker;
use crate::config::DashboardConfig;
use crate::config::raw::RawDashboard;

impl Checker<'_> {
    pub(super) fn dashboard(&mut self, raw: Option<&RawDashboard>) -> Option<DashboardConfig> {
        let raw = raw?;
        let title = match &raw.title {
            None => DashboardConfig::DEFAULT_TITLE.to_owned(),
            Some(title) => {
                let trimmed = title.trim();
                if trimmed.is_empty() {
                    self.at_value("dashboard.title", "the dashboard title is empty")
                        .hint = Some(format!(
                        "remove `title` to use \"{}\"",
                        DashboardConfig::DEFAULT_TITLE
                    ));
                } else if trimmed.chars().any(char::is_control) {
                    self.at_value(
                        "dashboard.title",
                        "the dashboard title must be one line without control characters",
                    );
                } else if trimmed.chars().count() > DashboardConfig::MAX_TITLE_CHARS {
                    self.at_value(
                        "dashboard.title",
                        format!(
                            "the dashboard title is {} characters long; issue titles hold at most {}",
                            trimmed.chars().count(),
                            DashboardConfig::MAX_TITLE_CHARS
                        ),
                    );
                }
                trimmed.to_owned()
            }
        };
        raw.enabled
            .unwrap_or(false)
            .then_some(DashboardConfig { title })
    }

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
    use crate::config::DashboardConfig;
    use crate::config::validate::check;
    use crate::config::validate::tests::{problems, with_strategies};

    fn file(dashboard: &str) -> String {
        let mut text =
            with_strategies("  - name: app\n    environments:\n      - branch: environment/dev\n");
        text.push_str(dashboard);
        text
    }

    fn dashboard_of(text: &str) -> Option<DashboardConfig> {
        check(text, std::path::Path::new("promotion.yaml"), &|_| None)
            .expect("valid")
            .dashboard
    }

    #[test]
    fn the_dashboard_is_off_unless_enabled() {
        assert_eq!(dashboard_of(&file("")), None);
        assert_eq!(dashboard_of(&file("dashboard: {}\n")), None);
        assert_eq!(
            dashboard_of(&file("dashboard:\n  enabled: false\n  title: X\n")),
            None
        );
        assert_eq!(
            dashboard_of(&file("dashboard:\n  enabled: true\n")),
            Some(DashboardConfig {
                title: "Promotion dashboard".into()
            })
        );
        assert_eq!(
            dashboard_of(&file(
                "dashboard:\n  enabled: true\n  title: \" Deploys \"\n"
            )),
            Some(DashboardConfig {
                title: "Deploys".into()
            })
        );
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
    fn a_bad_dashboard_title_or_key_is_reported_where_it_is() {
        assert_eq!(
            problems(&file("dashboard:\n  enabled: true\n  title: \"  \"\n")),
            ["12:10 dashboard.title: the dashboard title is empty"]
        );
        assert_eq!(
            problems(&file("dashboard:\n  enabled: true\n  title: \"a\\nb\"\n")),
            [
                "12:10 dashboard.title: the dashboard title must be one line without control characters"
            ]
        );
        let long = "x".repeat(256);
        assert_eq!(
            problems(&file(&format!(
                "dashboard:\n  enabled: true\n  title: {long}\n"
            )))
            .len(),
            1
        );
        let unknown = problems(&file("dashboard:\n  enable: true\n"));
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].contains("dashboard"), "{unknown:?}");
        let wrong_type = problems(&file("dashboard:\n  enabled: yes please\n"));
        assert_eq!(wrong_type.len(), 1, "{wrong_type:?}");
    }
}
