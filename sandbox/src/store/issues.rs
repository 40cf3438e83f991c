//! The issue rules of the forge: open (a title is required), update title and body, list. Issues
//! and pull requests share one number sequence per repository, as on GitHub and Gitea (GitLab
//! numbers them apart; one shared sequence is still a valid GitLab, whose `iid`s are only unique).
//! Issues live in memory, like pull requests.

use super::{ForgeError, PullState, Store, now};

/// An issue. `state` reuses the PR states (open, closed).
#[derive(Debug, Clone)]
pub struct IssueRecord {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: String,
    pub author: String,
    pub state: PullState,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What to open.
#[derive(Debug, Clone)]
pub(crate) struct NewIssue {
    pub title: String,
    pub body: String,
    pub author: String,
}

impl Store {
    /// The next issue or pull request number of the repository.
    pub(super) fn next_number(&self, full_name: &str) -> u64 {
        let pulls = self.pulls.get(full_name).map_or(0, Vec::len);
        let issues = self.issues.get(full_name).map_or(0, Vec::len);
        (pulls + issues) as u64 + 1
    }

    /// Every issue of the repository (pull requests not included), oldest first.
    pub(crate) fn issues(&self, full_name: &str) -> Result<Vec<IssueRecord>, ForgeError> {
        self.repo(full_name)?;
        Ok(self.issues.get(full_name).cloned().unwrap_or_default())
    }

    pub(crate) fn issue(&self, full_name: &str, number: u64) -> Result<IssueRecord, ForgeError> {
        self.issues
            .get(full_name)
            .and_then(|issues| issues.iter().find(|issue| issue.number == number))
            .cloned()
            .ok_or(ForgeError::NotFound)
    }

    pub(crate) fn open_issue(
        &mut self,
        full_name: &str,
        new: NewIssue,
    ) -> Result<IssueRecord, ForgeError> {
        self.repo(full_name)?;
        if new.title.trim().is_empty() {
            return Err(ForgeError::Invalid {
                field: "title".into(),
                message: "title can't be blank".into(),
            });
        }
        let at = now();
        let record = IssueRecord {
            id: self.id(),
            number: self.next_number(full_name),
            title: new.title,
            body: new.body,
            author: new.author,
            state: PullState::Open,
            created_at: at,
            updated_at: at,
        };
        self.issues
            .entry(full_name.to_owned())
            .or_default()
            .push(record.clone());
        Ok(record)
    }

    /// Sets the fields given; an empty title is refused.
    pub(crate) fn update_issue(
        &mut self,
        full_name: &str,
        number: u64,
        title: Option<String>,
        body: Option<String>,
    ) -> Result<IssueRecord, ForgeError> {
        if title.as_deref().is_some_and(|t| t.trim().is_empty()) {
            return Err(ForgeError::Invalid {
                field: "title".into(),
                message: "title can't be blank".into(),
            });
        }
        let record = self
            .issues
            .get_mut(full_name)
            .and_then(|issues| issues.iter_mut().find(|issue| issue.number == number))
            .ok_or(ForgeError::NotFound)?;
        if let Some(title) = title {
            record.title = title;
        }
        if let Some(body) = body {
            record.body = body;
        }
        record.updated_at = now();
        Ok(record.clone())
    }

    /// Closes or reopens an issue (tests: a closed dashboard is not the dashboard).
    pub(crate) fn set_issue_state(
        &mut self,
        full_name: &str,
        number: u64,
        state: PullState,
    ) -> Result<(), ForgeError> {
        let record = self
            .issues
            .get_mut(full_name)
            .and_then(|issues| issues.iter_mut().find(|issue| issue.number == number))
            .ok_or(ForgeError::NotFound)?;
        record.state = state;
        record.updated_at = now();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(title: &str) -> NewIssue {
        NewIssue {
            title: title.to_owned(),
            body: "body".to_owned(),
            author: "alice".to_owned(),
        }
    }

    #[test]
    fn issues_and_pull_requests_share_one_number_sequence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut store = Store::new(dir.path());
        store.create_repo("o", "r", None).expect("repo");
        let first = store.open_issue("o/r", new("one")).expect("issue");
        let second = store.open_issue("o/r", new("two")).expect("issue");
        assert_eq!((first.number, second.number), (1, 2));
        assert_eq!(store.next_number("o/r"), 3);
        assert!(matches!(
            store.open_issue("o/r", new("  ")),
            Err(ForgeError::Invalid { .. })
        ));
        let updated = store
            .update_issue("o/r", 2, None, Some("new body".into()))
            .expect("update");
        assert_eq!(
            (updated.title.as_str(), updated.body.as_str()),
            ("two", "new body")
        );
        assert!(matches!(
            store.update_issue("o/r", 9, None, None),
            Err(ForgeError::NotFound)
        ));
    }
}
