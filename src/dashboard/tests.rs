use super::*;

fn issue(number: u64, title: &str, body: &str) -> Issue {
    Issue {
        number,
        url: format!("https://x.test/issues/{number}"),
        title: title.to_owned(),
        body: body.to_owned(),
    }
}

#[test]
fn the_dashboard_is_the_lowest_numbered_issue_starting_with_the_marker() {
    let issues = vec![
        issue(9, "Promotion dashboard", &format!("{MARKER}\nnewer copy")),
        issue(3, "bug", "not a dashboard"),
        issue(5, "quote", &format!("see {MARKER} in the docs")),
        issue(7, "Promotion dashboard", &format!("\n{MARKER}\nthe one")),
    ];
    assert_eq!(find(issues).map(|i| i.number), Some(7));
    assert_eq!(find(vec![issue(1, "bug", "text")]), None);
}

#[test]
fn trailing_whitespace_and_nothing_else_is_no_difference() {
    let found = issue(1, "T", "body\n");
    assert!(shows(&found, "T", "body"));
    assert!(shows(&found, "T", "body\n\n"));
    assert!(!shows(&found, "T2", "body"));
    assert!(!shows(&found, "T", "body!"));
}

#[test]
fn a_failed_dashboard_is_a_warning_naming_the_token_permission() {
    let failed = DashboardReport::Failed {
        error: "POST /repos/a/b/issues answered 403: Resource not accessible".into(),
    };
    assert!(
        failed
            .warning()
            .expect("a warning")
            .contains("docs/tokens.md")
    );
    assert_eq!(
        DashboardReport::Unchanged {
            number: 3,
            url: String::new()
        }
        .warning(),
        None
    );
    assert_eq!(
        serde_json::to_value(&failed).expect("json")["result"],
        "failed"
    );
}

#[test]
fn a_failed_dashboard_is_one_escaped_warning_annotation_in_actions() {
    let failed = DashboardReport::Failed {
        error: "POST /x answered 403: no\nhint: 100% sure".into(),
    };
    assert_eq!(
        failed.annotation().expect("an annotation"),
        "::warning title=promoter%3A dashboard not written::the dashboard issue was not written (the promotion is unaffected): POST /x answered 403: no%0Ahint: 100%25 sure\n"
    );
    let skipped = DashboardReport::Skipped {
        reason: "partial".into(),
    };
    assert_eq!(skipped.annotation(), None);
}
