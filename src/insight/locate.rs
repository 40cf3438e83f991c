//! Where one DRY commit stands in each environment (`promoter where`), decided from git facts
//! alone: the environment's promotions, its live DRY commit, its staging tip's metadata and note.
//! Pure: the caller reads git.

use serde::Serialize;
use time::OffsetDateTime;

use super::history::Promotion;
use crate::model::Sha;

/// A DRY commit as typed on the command line: 4 to 64 hex digits, matched as a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DryQuery(String);

impl DryQuery {
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !(4..=64).contains(&text.len()) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "`{}` is not a commit SHA: write 4 to 64 hex digits",
                text.escape_debug()
            ));
        }
        Ok(Self(text.to_ascii_lowercase()))
    }

    pub(crate) fn matches(&self, sha: &Sha) -> bool {
        sha.as_str().starts_with(&self.0)
    }
}

/// What git says of one environment, for [`presence`].
#[derive(Debug, Clone)]
pub(crate) struct EnvironmentFacts<'a> {
    /// Newest first, as `history::promotions` returns them.
    pub promotions: &'a [Promotion],
    /// The DRY commit in the live tip's hydrator.metadata, and its date.
    pub live_dry: Option<(Sha, Option<OffsetDateTime>)>,
    /// The staging tip's hydrator.metadata DRY commit and the note's, if any.
    pub staging_dry: Option<Sha>,
    pub staging_note: Option<Sha>,
    pub staging_tip: Option<Sha>,
    /// When the live tip was committed: for a no-op hydration, since when the output is live.
    pub live_since: Option<OffsetDateTime>,
}

/// Where the DRY commit is in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub(crate) enum Presence {
    /// Promoted here; `superseded_by` is the newer DRY commit live now, if any. `since` and
    /// `live_sha` are `None` when the promotion is older than the history read.
    #[serde(rename_all = "camelCase")]
    Live {
        #[serde(serialize_with = "crate::insight::rfc3339_option")]
        since: Option<OffsetDateTime>,
        live_sha: Option<Sha>,
        pull_request: Option<String>,
        superseded_by: Option<Sha>,
    },
    /// The hydrator rendered it with no change (a note) and that output is live.
    #[serde(rename_all = "camelCase")]
    LiveNoOp {
        #[serde(serialize_with = "crate::insight::rfc3339_option")]
        since: Option<OffsetDateTime>,
    },
    /// Never promoted on its own, but a DRY commit dated after it is live: included when the DRY
    /// branch is linear (git alone cannot see the DRY branch's ancestry).
    #[serde(rename_all = "camelCase")]
    PassedOver { live_dry: Sha },
    /// On its way: the staging branch carries it, the live branch does not yet.
    #[serde(rename_all = "camelCase")]
    Staged { staging_tip: Sha },
    /// Not on this environment's branches (not hydrated yet, or an unknown SHA).
    NotSeen,
}

impl Presence {
    /// Live here, whether on its own, as a no-op, or inside a newer DRY commit.
    pub(crate) fn is_live(&self) -> bool {
        matches!(
            self,
            Self::Live { .. } | Self::LiveNoOp { .. } | Self::PassedOver { .. }
        )
    }
}

/// Where `query` is in one environment. `dry_date` is the DRY commit's date when any environment
/// knows it (from hydrator.metadata), for telling "passed over" from "not seen".
pub(crate) fn presence(
    query: &DryQuery,
    facts: &EnvironmentFacts<'_>,
    dry_date: Option<OffsetDateTime>,
) -> Presence {
    let live_dry = facts.live_dry.as_ref().map(|(sha, _)| sha);
    // The newest promotion of it: when it (last) became live here.
    if let Some(promotion) = facts.promotions.iter().find(|p| query.matches(&p.dry_sha)) {
        return Presence::Live {
            since: Some(promotion.merged_at),
            live_sha: Some(promotion.live_sha.clone()),
            pull_request: promotion.pull_request.clone(),
            superseded_by: live_dry.filter(|live| !query.matches(live)).cloned(),
        };
    }
    if let Some(live) = live_dry
        && query.matches(live)
    {
        // Live, but promoted before the oldest commit read.
        return Presence::Live {
            since: None,
            live_sha: None,
            pull_request: None,
            superseded_by: None,
        };
    }
    let note_matches = facts
        .staging_note
        .as_ref()
        .is_some_and(|n| query.matches(n));
    if note_matches && facts.staging_dry.as_ref() == live_dry && live_dry.is_some() {
        return Presence::LiveNoOp {
            since: facts.live_since,
        };
    }
    let staged = note_matches || facts.staging_dry.as_ref().is_some_and(|d| query.matches(d));
    if staged && let Some(tip) = &facts.staging_tip {
        return Presence::Staged {
            staging_tip: tip.clone(),
        };
    }
    if let (Some(date), Some((live, Some(live_date)))) = (dry_date, &facts.live_dry)
        && *live_date > date
    {
        return Presence::PassedOver {
            live_dry: live.clone(),
        };
    }
    Presence::NotSeen
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::insight::history::MergeKind;

    fn sha(n: u8) -> Sha {
        Sha::parse(&format!("{n:02x}").repeat(20)).unwrap()
    }

    fn query(n: u8) -> DryQuery {
        DryQuery::parse(&sha(n).as_str()[..7]).unwrap()
    }

    fn promoted(dry: u8, at: OffsetDateTime) -> Promotion {
        Promotion {
            dry_sha: sha(dry),
            dry_subject: String::new(),
            dry_author: String::new(),
            dry_date: None,
            hydrated_sha: sha(dry + 100),
            live_sha: sha(dry + 200),
            merged_at: at,
            pull_request: Some("#3".into()),
            pull_request_url: None,
            merge_kind: MergeKind::Trailers,
        }
    }

    fn facts(promotions: &[Promotion]) -> EnvironmentFacts<'_> {
        EnvironmentFacts {
            promotions,
            live_dry: promotions.first().map(|p| (p.dry_sha.clone(), p.dry_date)),
            staging_dry: promotions.first().map(|p| p.dry_sha.clone()),
            staging_note: None,
            staging_tip: Some(sha(250)),
            live_since: promotions.first().map(|p| p.merged_at),
        }
    }

    #[test]
    fn a_query_is_a_hex_prefix() {
        assert!(DryQuery::parse("abc").is_err());
        assert!(DryQuery::parse("zzzzzzz").is_err());
        assert!(
            DryQuery::parse("ABCDEF1")
                .unwrap()
                .matches(&Sha::parse(&"abcdef1".repeat(40)[..40]).unwrap())
        );
    }

    #[test]
    fn a_promoted_commit_is_live_since_its_merge_and_superseded_by_a_newer_one() {
        let at = datetime!(2026-11-02 10:00 UTC);
        let history = [promoted(2, at + time::Duration::hours(1)), promoted(1, at)];
        let found = presence(&query(1), &facts(&history), None);
        assert_eq!(
            found,
            Presence::Live {
                since: Some(at),
                live_sha: Some(sha(201)),
                pull_request: Some("#3".into()),
                superseded_by: Some(sha(2)),
            }
        );
        assert!(found.is_live());
        let newest = presence(&query(2), &facts(&history), None);
        assert!(matches!(
            newest,
            Presence::Live {
                superseded_by: None,
                ..
            }
        ));
    }

    #[test]
    fn a_staged_commit_is_on_its_way_and_an_unknown_one_not_seen() {
        let history = [promoted(1, datetime!(2026-11-02 10:00 UTC))];
        let mut env = facts(&history);
        env.staging_dry = Some(sha(2));
        assert_eq!(
            presence(&query(2), &env, None),
            Presence::Staged {
                staging_tip: sha(250)
            }
        );
        assert_eq!(presence(&query(3), &env, None), Presence::NotSeen);
    }

    #[test]
    fn a_noted_commit_whose_output_is_live_is_live_as_a_no_op() {
        let at = datetime!(2026-11-02 10:00 UTC);
        let history = [promoted(1, at)];
        let mut env = facts(&history);
        env.staging_note = Some(sha(2));
        assert_eq!(
            presence(&query(2), &env, None),
            Presence::LiveNoOp { since: Some(at) }
        );
        // With something else pending on staging, the note is only on its way.
        env.staging_dry = Some(sha(4));
        assert!(matches!(
            presence(&query(2), &env, None),
            Presence::Staged { .. }
        ));
    }

    #[test]
    fn an_older_commit_never_promoted_here_is_passed_over_by_a_newer_live_one() {
        let mut newer = promoted(5, datetime!(2026-11-03 10:00 UTC));
        newer.dry_date = Some(datetime!(2026-11-03 09:00 UTC));
        let history = [newer];
        let env = facts(&history);
        assert_eq!(
            presence(&query(4), &env, Some(datetime!(2026-11-02 09:00 UTC))),
            Presence::PassedOver { live_dry: sha(5) }
        );
        // A DRY commit dated after the live one is not included in it.
        assert_eq!(
            presence(&query(4), &env, Some(datetime!(2026-11-04 09:00 UTC))),
            Presence::NotSeen
        );
    }
}
