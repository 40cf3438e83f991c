//! `--shard K/N`: which strategies one of N parallel CI jobs works on. Owns parsing the flag and
//! GitLab's `parallel:` variables, and the stable assignment of a strategy to a shard; selecting
//! strategies for a pass is `pass::select_strategies`.
//!
//! A strategy belongs to shard `K` of `N` when `fnv1a64(name) mod N = K - 1` (FNV-1a, 64 bits,
//! over the name's UTF-8 bytes). The hash depends on nothing but the name, so a strategy stays in
//! its shard across runs, machines and promoter versions while N is unchanged, and adding or
//! removing another strategy moves no other one. Shards are 1-based like GitLab's
//! `CI_NODE_INDEX`; a shard may be empty when N is close to the number of strategies.

use std::fmt;

use anyhow::{Result, bail};

use crate::ci_env::{self, Env};

/// One shard of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Shard {
    /// 1-based, at most `total`.
    index: u64,
    total: u64,
}

impl Shard {
    /// `K/N` with `1 <= K <= N`.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let Some((index, total)) = text.trim().split_once('/') else {
            bail!("`--shard {text}` is not K/N (e.g. `--shard 1/3`)");
        };
        Self::new(index, total, &format!("`--shard {text}`"))
    }

    /// `--shard` if given, else GitLab's `CI_NODE_INDEX`/`CI_NODE_TOTAL`, which a job with
    /// `parallel: N` gets (1-based index; docs.gitlab.com/ci/variables/predefined_variables).
    /// Neither: no sharding.
    pub(crate) fn resolve(flag: Option<&str>, env: Env<'_>) -> Result<Option<Self>> {
        if let Some(flag) = flag {
            return Self::parse(flag).map(Some);
        }
        match (
            ci_env::var(env, "CI_NODE_INDEX"),
            ci_env::var(env, "CI_NODE_TOTAL"),
        ) {
            (None, None) => Ok(None),
            (Some(index), Some(total)) => Self::new(
                &index,
                &total,
                &format!("CI_NODE_INDEX={index} CI_NODE_TOTAL={total}"),
            )
            .map(Some),
            _ => bail!(
                "only one of CI_NODE_INDEX and CI_NODE_TOTAL is set; GitLab sets both in a job \
                 with `parallel: N`\nhint: set both, or neither, or pass `--shard K/N`"
            ),
        }
    }

    fn new(index: &str, total: &str, given: &str) -> Result<Self> {
        let (Ok(index), Ok(total)) = (index.trim().parse::<u64>(), total.trim().parse::<u64>())
        else {
            bail!("{given}: K and N must be whole numbers (e.g. `--shard 1/3`)");
        };
        if total == 0 || index == 0 || index > total {
            bail!("{given}: K must be between 1 and N, and N at least 1 (e.g. `--shard 1/3`)");
        }
        Ok(Self { index, total })
    }

    /// Whether the strategy named `name` is this shard's.
    pub(crate) fn contains(&self, name: &str) -> bool {
        fnv1a64(name.as_bytes()) % self.total == self.index - 1
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.total)
    }
}

/// FNV-1a, 64 bits (the offset basis and prime of the published reference,
/// datatracker.ietf.org/doc/html/draft-eastlake-fnv): written out so no library's hash function
/// change can move a strategy to another shard.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn the_hash_is_fnv1a_64() {
        // The reference's test vectors.
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn every_strategy_is_in_exactly_one_shard() {
        let names: Vec<String> = (0..50).map(|i| format!("app-{i}")).collect();
        for total in 1..=5 {
            let shards: Vec<Shard> = (1..=total)
                .map(|k| Shard::parse(&format!("{k}/{total}")).unwrap())
                .collect();
            for name in &names {
                let owners = shards.iter().filter(|shard| shard.contains(name)).count();
                assert_eq!(owners, 1, "{name} in {owners} of {total} shards");
            }
        }
        // Pinned, so a change of the hash is seen: it would move strategies between CI jobs.
        let first_of_three = Shard::parse("1/3").unwrap();
        let pinned: Vec<&str> = ["guestbook", "payments", "search", "web"]
            .into_iter()
            .filter(|name| first_of_three.contains(name))
            .collect();
        assert_eq!(pinned, PINNED_FIRST_OF_THREE);
    }

    const PINNED_FIRST_OF_THREE: &[&str] = &["search"];

    #[test]
    fn bad_shards_are_refused_with_an_example() {
        for bad in ["", "1", "0/3", "4/3", "1/0", "a/b", "-1/3", "1/3/5"] {
            let error = Shard::parse(bad).unwrap_err().to_string();
            assert!(error.contains("--shard 1/3"), "{bad}: {error}");
        }
        assert_eq!(Shard::parse(" 2/3 ").unwrap().to_string(), "2/3");
    }

    #[test]
    fn gitlab_parallel_variables_are_used_when_no_flag_is_given() {
        let parallel = |name: &str| match name {
            "CI_NODE_INDEX" => Some("2".to_owned()),
            "CI_NODE_TOTAL" => Some("4".to_owned()),
            _ => None,
        };
        assert_eq!(
            Shard::resolve(None, &parallel).unwrap(),
            Some(Shard::parse("2/4").unwrap())
        );
        assert_eq!(
            Shard::resolve(Some("1/2"), &parallel).unwrap(),
            Some(Shard::parse("1/2").unwrap())
        );
        assert_eq!(Shard::resolve(None, &no_env).unwrap(), None);
        let half = |name: &str| (name == "CI_NODE_TOTAL").then(|| "3".to_owned());
        assert!(Shard::resolve(None, &half).is_err());
        let zero = |name: &str| match name {
            "CI_NODE_INDEX" => Some("0".to_owned()),
            "CI_NODE_TOTAL" => Some("3".to_owned()),
            _ => None,
        };
        let error = Shard::resolve(None, &zero).unwrap_err().to_string();
        assert!(error.contains("CI_NODE_INDEX=0"), "{error}");
    }
}
