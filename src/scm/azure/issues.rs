//! Azure Repos has no issues (work items belong to Azure Boards, which promoter does not use), so
//! there is no dashboard issue on Azure DevOps: every [`Issues`] operation says so, without a
//! request, and the dashboard reports it as a warning (docs/azure-devops.md, known limits).

use super::Azure;
use crate::scm::RepoPath;
use crate::scm::issues::{Issue, Issues};

impl Issues for Azure {
    fn open_issues(&self) -> anyhow::Result<Vec<Issue>> {
        Err(no_issues(&self.repo))
    }

    fn create_issue(&self, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        Err(no_issues(&self.repo))
    }

    fn update_issue(&self, _number: u64, _title: &str, _body: &str) -> anyhow::Result<Issue> {
        Err(no_issues(&self.repo))
    }

    fn issue_body_limit(&self) -> usize {
        0
    }
}

/// Why there is no dashboard issue.
fn no_issues(repo: &RepoPath) -> anyhow::Error {
    anyhow::anyhow!(
        "Azure DevOps repositories have no issues, so {repo} cannot have a dashboard issue: set dashboard.enabled to false (docs/azure-devops.md, known limits)"
    )
}
