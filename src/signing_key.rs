//! One signing key for every process of a database.
//!
//! Download links, signed portal URLs, sign-in codes and form tokens are derived from the
//! signing key, so a process with another key than its peers would hand out links they do not
//! open and refuse theirs. The database keeps the key's fingerprint (HMAC-SHA256 of a fixed
//! label under the key, never the key): the first process records it, and a process whose key
//! has another fingerprint refuses to start, saying what to do.

use anyhow::bail;

use crate::db::{Db, signing_key};
use crate::domain::{human_date_time, signing_key_fingerprint};

/// Characters of a fingerprint shown to operators (64 bits: enough to tell keys apart).
const SHOWN: usize = 16;

/// Checks that `key` is the key this database's processes use, recording it on first start.
/// `replace` (the `replace_signing_key` setting) replaces the recorded key with this one when
/// it names this key's fingerprint.
pub async fn ensure_shared(db: &Db, key: &[u8], replace: Option<&str>) -> anyhow::Result<()> {
    let mine = signing_key_fingerprint(key);
    let recorded = signing_key::record_or_get(db, &mine).await?;
    if recorded.fingerprint == mine {
        return Ok(());
    }
    let theirs = &recorded.fingerprint;
    if replace.is_some_and(|wanted| names(&mine, wanted)) {
        signing_key::replace(db, &mine).await?;
        tracing::warn!(
            fingerprint = &mine[..SHOWN],
            previous = theirs.get(..SHOWN).unwrap_or(theirs),
            "replaced the signing key of this database's processes: links, codes and sessions made under \
             the previous key no longer work, and processes still holding it refuse to start"
        );
        return Ok(());
    }
    bail!(
        "this process's signing key (fingerprint {mine_shown}) is not the one the processes of this database \
         use (fingerprint {theirs_shown}, recorded {since}): links and sessions made by one would not work \
         on the other. Give every process the same key: set `signing_key` (or SATCHEL__SIGNING_KEY) in the \
         configuration of every process, copied from a process that runs (its configuration, or \
         data_dir/secrets.json where it was generated). To replace the key on purpose (see the README, \
         \"Changing the signing key\"), set the new key on every process and start one of them once with \
         SATCHEL__REPLACE_SIGNING_KEY={mine_shown}.",
        mine_shown = &mine[..SHOWN],
        theirs_shown = theirs.get(..SHOWN).unwrap_or(theirs),
        since = human_date_time(recorded.recorded_at),
    )
}

/// Whether `wanted` names the fingerprint `full` (whole, or the part shown to operators).
fn names(full: &str, wanted: &str) -> bool {
    let wanted = wanted.trim().to_ascii_lowercase();
    wanted.len() >= SHOWN && full.starts_with(&wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_names_the_shown_part_or_the_whole_fingerprint() {
        let full = signing_key_fingerprint(b"k");
        assert!(names(&full, &full[..SHOWN]));
        assert!(names(&full, &full.to_uppercase()));
        assert!(!names(&full, &full[..SHOWN - 1]), "too short to name a key");
        assert!(!names(&full, &signing_key_fingerprint(b"other")[..SHOWN]));
        assert_ne!(full, signing_key_fingerprint(b"other"));
    }
}
