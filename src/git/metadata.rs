//! The hydrator's contract read from bytes: `hydrator.metadata` files and notes in
//! `refs/notes/hydrator.metadata` (docs/design.md §1), and the trailer block of a merge commit. Pure
//! parsing; reading the bytes out of git is `GitCache`'s job.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::model::Sha;

/// The file name the hydrator writes at the root of a hydrated commit or under `<activePath>/`.
pub(crate) const METADATA_FILE: &str = "hydrator.metadata";

/// The notes ref a hydrator writes `{"drySha": ...}` notes to (docs/design.md §1).
pub(crate) const NOTES_REF: &str = "refs/notes/hydrator.metadata";

// One type for the parsed file across the crate: the planner and templates read it too.
pub(crate) use crate::model::{HydratorMetadata, ReferenceCommit};

/// The note a hydrator leaves on a staging tip when the output did not change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteMetadata {
    pub dry_sha: Sha,
}

/// Parses a `hydrator.metadata` document. The error says which field is wrong; the caller adds
/// branch, commit and path.
pub fn parse_metadata(bytes: &[u8]) -> Result<HydratorMetadata, String> {
    let object = parse_object(bytes)?;
    let dry_sha = match text(&object, "drysha")? {
        Some(value) if !value.is_empty() => {
            Sha::parse(&value).map_err(|why| format!("`drySha`: {why}"))?
        }
        _ => return Err("`drySha` is missing or empty".into()),
    };
    let references = match field(&object, "references") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                parse_reference(item).map_err(|why| format!("`references[{index}]`: {why}"))
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err("`references` is not a list".into()),
    };
    Ok(HydratorMetadata {
        dry_sha,
        repo_url: text(&object, "repourl")?.unwrap_or_default(),
        author: text(&object, "author")?.unwrap_or_default(),
        date: date(&object)?,
        subject: text(&object, "subject")?.unwrap_or_default(),
        body: text(&object, "body")?.unwrap_or_default(),
        references,
    })
}

fn parse_reference(item: &Value) -> Result<ReferenceCommit, String> {
    let Value::Object(entry) = item else {
        return Err("not an object".into());
    };
    let entry = lowercase_keys(entry);
    let commit = match field(&entry, "commit") {
        Some(Value::Object(commit)) => lowercase_keys(commit),
        None | Some(Value::Null) => BTreeMap::new(),
        Some(_) => return Err("`commit` is not an object".into()),
    };
    let sha = match text(&commit, "sha")? {
        Some(value) if !value.is_empty() => {
            Some(Sha::parse(&value).map_err(|why| format!("`commit.sha`: {why}"))?)
        }
        _ => None,
    };
    Ok(ReferenceCommit {
        sha,
        repo_url: text(&commit, "repourl")?.unwrap_or_default(),
        author: text(&commit, "author")?.unwrap_or_default(),
        date: date(&commit).map_err(|why| format!("`commit.{}", &why[1..]))?,
        subject: text(&commit, "subject")?.unwrap_or_default(),
        body: text(&commit, "body")?.unwrap_or_default(),
    })
}

/// Parses a note body `{"drySha": "<sha>"}`.
pub fn parse_note(bytes: &[u8]) -> Result<NoteMetadata, String> {
    let object = parse_object(bytes)?;
    match text(&object, "drysha")? {
        Some(value) if !value.is_empty() => Ok(NoteMetadata {
            dry_sha: Sha::parse(&value).map_err(|why| format!("`drySha`: {why}"))?,
        }),
        _ => Err("`drySha` is missing or empty".into()),
    }
}

/// The trailer block (`Key: value` lines of the last paragraph) of a commit message, parsed by
/// libgit2's port of `git interpret-trailers`. A repeated key keeps its last value.
pub(crate) fn parse_trailers(message: &str) -> BTreeMap<String, String> {
    let Ok(trailers) = git2::message_trailers_strs(message) else {
        // libgit2 fails only on messages with NUL bytes; such a message has no trailers.
        return BTreeMap::new();
    };
    trailers
        .iter()
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .collect()
}

type Fields = BTreeMap<String, Value>;

fn parse_object(bytes: &[u8]) -> Result<Fields, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(object)) => Ok(lowercase_keys(&object)),
        Ok(_) => Err("not a JSON object".into()),
        Err(why) => Err(format!("not valid JSON: {why}")),
    }
}

/// Keys compared case-insensitively: `drySHA` occurs in the wild (upstream test fixtures; Go's
/// encoding/json matches keys case-insensitively).
fn lowercase_keys(object: &Map<String, Value>) -> Fields {
    object
        .iter()
        .map(|(key, value)| (key.to_ascii_lowercase(), value.clone()))
        .collect()
}

fn field<'a>(object: &'a Fields, key: &str) -> Option<&'a Value> {
    object.get(key)
}

fn text(object: &Fields, key: &str) -> Result<Option<String>, String> {
    match field(object, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value.clone())),
        Some(_) => Err(format!("`{key}` is not a string")),
    }
}

fn date(object: &Fields) -> Result<Option<OffsetDateTime>, String> {
    match text(object, "date")? {
        None => Ok(None),
        Some(value) if value.trim().is_empty() => Ok(None),
        Some(value) => OffsetDateTime::parse(value.trim(), &Rfc3339)
            .map(Some)
            .map_err(|_| format!("`date` is not an RFC 3339 time: `{value}`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRY: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn metadata_keys_match_case_insensitively_and_unknown_keys_are_ignored() {
        let doc = format!(
            r#"{{"drySHA":"{}","RepoUrl":"https://x/y","author":"A <a@x>","date":"2026-01-02T03:04:05Z",
               "subject":"s","body":"b","somethingNew":42,
               "references":[{{"commit":{{"SHA":"{DRY}","subject":"ref","date":""}}}}]}}"#,
            DRY.to_uppercase()
        );
        let meta = parse_metadata(doc.as_bytes()).unwrap();
        assert_eq!(meta.dry_sha.as_str(), DRY);
        assert_eq!(meta.repo_url, "https://x/y");
        assert_eq!(meta.date.unwrap().unix_timestamp(), 1_767_323_045);
        assert_eq!(meta.references.len(), 1);
        assert_eq!(meta.references[0].sha.as_ref().unwrap().as_str(), DRY);
        assert_eq!(meta.references[0].date, None);
    }

    #[test]
    fn missing_or_empty_date_is_unknown_but_a_malformed_date_is_an_error() {
        let absent = parse_metadata(format!(r#"{{"drySha":"{DRY}"}}"#).as_bytes()).unwrap();
        assert_eq!(absent.date, None);
        assert_eq!(absent.subject, "");
        let empty =
            parse_metadata(format!(r#"{{"drySha":"{DRY}","date":""}}"#).as_bytes()).unwrap();
        assert_eq!(empty.date, None);
        let bad = parse_metadata(format!(r#"{{"drySha":"{DRY}","date":"yesterday"}}"#).as_bytes())
            .unwrap_err();
        assert!(bad.contains("`date`"), "{bad}");
    }

    #[test]
    fn metadata_without_a_valid_dry_sha_or_json_is_refused() {
        assert!(parse_metadata(b"{}").unwrap_err().contains("drySha"));
        assert!(
            parse_metadata(br#"{"drySha":"abc123"}"#)
                .unwrap_err()
                .contains("drySha")
        );
        assert!(
            parse_metadata(b"garbage")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(
            parse_metadata(b"[1]")
                .unwrap_err()
                .contains("not a JSON object")
        );
        assert!(
            parse_metadata(
                format!(r#"{{"drySha":"{DRY}","references":[{{"commit":{{"sha":"zz"}}}}]}}"#)
                    .as_bytes()
            )
            .unwrap_err()
            .contains("references[0]")
        );
    }

    #[test]
    fn note_bodies_carry_a_dry_sha() {
        let note = parse_note(format!("{{\"drySha\": \"{DRY}\"}}\n").as_bytes()).unwrap();
        assert_eq!(note.dry_sha.as_str(), DRY);
        assert!(
            parse_note(b"not json")
                .unwrap_err()
                .contains("not valid JSON")
        );
        assert!(parse_note(b"{}").is_err());
    }

    #[test]
    fn trailers_come_from_the_last_paragraph_only() {
        let message = "Promote abc\n\nSome: text in the body\nand prose\n\nSha-dry-active: 1\nPull-request-id: 12\nSha-dry-active: 2\n";
        let trailers = parse_trailers(message);
        assert_eq!(
            trailers,
            BTreeMap::from([
                ("Pull-request-id".to_string(), "12".to_string()),
                ("Sha-dry-active".to_string(), "2".to_string()),
            ])
        );
        assert!(parse_trailers("Title\n\nJust prose, nothing else\nat all").is_empty());
        assert!(parse_trailers("").is_empty());
    }
}
