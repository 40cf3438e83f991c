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
