//! Stage IDs and the tags that carry them (../shared/spec/werf-build.md
//! §5.1): `<digest>-<unix millis>`, or a bare 56-hex digest for a
//! multi-platform index.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of a stage digest (SHA3-224, hex).
pub const DIGEST_LEN: usize = 56;

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StageId {
    pub digest: String,
    /// Creation time in Unix milliseconds; 0 for a multi-platform index.
    pub creation_ts: i64,
}

impl StageId {
    pub fn new(digest: impl Into<String>, creation_ts: i64) -> StageId {
        StageId {
            digest: digest.into(),
            creation_ts,
        }
    }

    /// A new ID for `digest` stamped now, as werf stamps a stage it is
    /// about to publish.
    pub fn now(digest: impl Into<String>) -> StageId {
        let millis = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        StageId::new(digest, millis)
    }

    /// Parses a repository tag as werf's `GetStagesIDs` does: exactly 56
    /// characters, or 70 characters with exactly one `-` and an integer
    /// after it. Anything else (metadata records, rejected stages, custom
    /// tags) is not a stage.
    pub fn from_tag(tag: &str) -> Option<StageId> {
        let is_hex = |s: &str| s.bytes().all(|b| b.is_ascii_hexdigit());
        if tag.len() == DIGEST_LEN {
            return is_hex(tag).then(|| StageId::new(tag, 0));
        }
        if tag.len() != DIGEST_LEN + 14 || tag.matches('-').count() != 1 {
            return None;
        }
        let (digest, ts) = tag.split_once('-')?;
        if digest.len() != DIGEST_LEN || !is_hex(digest) {
            return None;
        }
        Some(StageId::new(digest, ts.parse().ok()?))
    }

    /// The `-rejected` record of a stage: `<digest>-<ts>-rejected`.
    pub fn rejected_tag(&self) -> String {
        format!("{self}-rejected")
    }

    /// Parses a `-rejected` record back to the stage it rejects
    /// (werf's `^([0-9a-f]{56})-([0-9]+)-rejected$`).
    pub fn from_rejected_tag(tag: &str) -> Option<StageId> {
        let (digest, ts) = tag.strip_suffix("-rejected")?.split_once('-')?;
        let lower_hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if digest.len() != DIGEST_LEN
            || !lower_hex(digest)
            || ts.is_empty()
            || !ts.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        Some(StageId::new(digest, ts.parse().ok()?))
    }
}

impl fmt::Display for StageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.creation_ts == 0 {
            f.write_str(&self.digest)
        } else {
            write!(f, "{}-{}", self.digest, self.creation_ts)
        }
    }
}

/// The stage IDs among `tags` with `digest`, minus rejected ones and ones
/// older than their parent (`parent_ts`, 0 for none), oldest first — the
/// first is the one werf selects.
pub fn stages_for_digest(tags: &[String], digest: &str, parent_ts: i64) -> Vec<StageId> {
    let rejected: Vec<StageId> = tags
        .iter()
        .filter_map(|t| StageId::from_rejected_tag(t))
        .collect();
    let mut ids: Vec<StageId> = tags
        .iter()
        .filter(|t| t.starts_with(digest))
        .filter_map(|t| StageId::from_tag(t))
        .filter(|id| id.digest == digest && id.creation_ts > 0)
        .filter(|id| id.creation_ts >= parent_ts)
        .filter(|id| !rejected.contains(id))
        .collect();
    ids.sort_by_key(|id| id.creation_ts);
    ids
}

/// `managed-image-<id>`: the record that an image name belongs to the
/// project, with the image name encoded as werf encodes it.
pub fn managed_image_tag(image_name: &str) -> String {
    let id = if image_name.is_empty() {
        "__nameless__".to_string()
    } else {
        image_name
            .replace(' ', "__space__")
            .replace('/', "__slash__")
            .replace('+', "__plus__")
    };
    // A name that makes no valid tag is slugged, as werf does.
    let id = if davit_slug::is_docker_tag(&format!("managed-image-{id}")) {
        id
    } else {
        davit_slug::limited_slug(&id, 128 - 14)
    };
    format!("managed-image-{id}")
}

/// `custom-tag-meta-<limited slug of tag>`: werf's record of a custom tag
/// (`--add-custom-tag`) and the stage it points at.
pub fn custom_tag_meta_tag(tag: &str) -> String {
    format!("custom-tag-meta-{}", davit_slug::limited_slug(tag, 48))
}

/// `meta-<murmur3(name)>_<commit>_<stage id>`: werf's record that `commit`
/// produced the image `image_name` as the stage `stage_id`; cleanup's git
/// history policy reads it. The hash is murmur3-32 (seed 0) of the image
/// name as unpadded lowercase hex, as werf writes it.
pub fn image_metadata_tag(image_name: &str, commit: &str, stage_id: &str) -> String {
    format!(
        "meta-{}_{commit}_{stage_id}",
        davit_slug::murmur(image_name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "9a61a05308b3edee15d1a801d7e876248ebab99e7f19a71da0abad0e";

    #[test]
    fn parses_and_formats_stage_tags() {
        let id = StageId::from_tag(&format!("{D}-1700000000123")).expect("stage tag");
        assert_eq!(id, StageId::new(D, 1_700_000_000_123));
        assert_eq!(id.to_string(), format!("{D}-1700000000123"));
        assert_eq!(StageId::from_tag(D), Some(StageId::new(D, 0)));
        assert_eq!(StageId::new(D, 0).to_string(), D);
        // Not stages: metadata, rejected records, custom tags, bad numbers.
        for t in [
            "managed-image-app",
            "latest",
            &format!("{D}-1700000000123-rejected"),
            &format!("{D}-17000000001x3"),
            &format!("{}-1700000000123", &D[..55]),
        ] {
            assert_eq!(StageId::from_tag(t), None, "{t}");
        }
        let r = StageId::new(D, 5).rejected_tag();
        assert_eq!(StageId::from_rejected_tag(&r), Some(StageId::new(D, 5)));
    }

    #[test]
    fn selects_oldest_not_rejected_not_older_than_parent() {
        let t = |ts: i64| format!("{D}-{ts}");
        let tags = vec![
            t(1_700_000_000_300),
            t(1_700_000_000_100),
            t(1_700_000_000_200),
            StageId::new(D, 1_700_000_000_100).rejected_tag(),
            "latest".into(),
            format!("{}-1700000000050", "0".repeat(56)),
        ];
        let ids = stages_for_digest(&tags, D, 0);
        assert_eq!(
            ids.iter().map(|i| i.creation_ts).collect::<Vec<_>>(),
            [1_700_000_000_200, 1_700_000_000_300]
        );
        let ids = stages_for_digest(&tags, D, 1_700_000_000_250);
        assert_eq!(ids.len(), 1);
        assert!(stages_for_digest(&tags, &"1".repeat(56), 0).is_empty());
    }

    #[test]
    fn image_metadata_names() {
        // werf's own vectors for its murmur3 (spec: werf-build.md, notation).
        assert!(image_metadata_tag("A", "c", "s").starts_with("meta-54dcf7ce_"));
        assert_eq!(
            image_metadata_tag(&"x".repeat(43), &"a".repeat(40), "d-1"),
            format!("meta-27e2f02f_{}_d-1", "a".repeat(40))
        );
        // Unpadded: the empty name hashes to 0.
        assert_eq!(image_metadata_tag("", "c", "s"), "meta-0_c_s");
    }

    #[test]
    fn managed_image_names() {
        assert_eq!(managed_image_tag(""), "managed-image-__nameless__");
        assert_eq!(
            managed_image_tag("back end/api+x"),
            "managed-image-back__space__end__slash__api__plus__x"
        );
        assert!(davit_slug::is_docker_tag(&managed_image_tag("backend")));
        assert!(!davit_slug::is_docker_tag("-x"));
        assert!(!davit_slug::is_docker_tag(&"a".repeat(129)));
    }

    #[test]
    fn now_is_millis() {
        let id = StageId::now(D);
        assert!(id.creation_ts > 1_700_000_000_000, "{}", id.creation_ts);
        assert_eq!(StageId::from_tag(&id.to_string()), Some(id));
    }
}
