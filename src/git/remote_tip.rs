//! One ref listing of the remote, without a fetch: where a branch is now. For `promoter gate`,
//! which writes a status on a tip and needs none of its objects.

use std::collections::BTreeMap;

use anyhow::Result;
use git2::Oid;

use super::{GitCache, http, sha, transport};
use crate::model::{BranchName, Sha};

impl GitCache {
    /// The tip of `branch` on the remote (`None` when the remote has no such branch).
    pub(crate) fn remote_tip(&mut self, branch: &BranchName) -> Result<Option<Sha>> {
        self.refresh_token()?;
        let _session = http::Session::begin(self.credentials.as_ref(), &self.trust);
        let nothing: &dyn Fn(&BTreeMap<String, Oid>) -> Vec<String> = &|_| Vec::new();
        let repo = &self.repo;
        let listing = transport::retrying(self.retry.as_ref(), &mut self.retried, || {
            transport::list_and_fetch(repo, &self.url, self.credentials.as_ref(), nothing, None)
        })?;
        Ok(listing.heads.get(&branch.full_ref()).map(|oid| sha(*oid)))
    }
}
