//! werf's hash primitives (`common-go/pkg/util/hashsum.go`): arguments
//! joined with `:::`, then SHA-256 (`H256`) or SHA3-224 (`H3`, stage
//! digests), in lower-case hex.

use sha2::Digest;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `H256(a, b, …)`; with no arguments the SHA-256 of the empty string.
pub fn h256<S: AsRef<str>>(args: &[S]) -> String {
    let joined: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    hex(&sha2::Sha256::digest(joined.join(":::").as_bytes()))
}

/// `H3(a, b, …)`: 56 hex characters.
pub fn h3<S: AsRef<str>>(args: &[S]) -> String {
    let joined: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    hex(&sha3::Sha3_224::digest(joined.join(":::").as_bytes()))
}

/// werf's `calculateDigest` shape: `H3([platform], args…)`, where the
/// platform comes first only when it is not `linux/amd64` (spec §4.1).
pub fn stage_h3(platform: &str, args: &[&str]) -> String {
    let mut all: Vec<&str> = Vec::with_capacity(args.len() + 1);
    if platform != crate::platform::DEFAULT && !platform.is_empty() {
        all.push(platform);
    }
    all.extend_from_slice(args);
    h3(&all)
}

/// A stage's content digest as werf labels it when it creates the stage:
/// `H3([platform], "1.2", "<name>-content", "", digest, "")`.
pub fn content_digest(platform: &str, stage_name: &str, digest: &str) -> String {
    let name = format!("{stage_name}-content");
    stage_h3(platform, &["1.2", &name, "", digest, ""])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_platform_comes_first_unless_amd64() {
        let from = h256(&["alpine:3.18"]);
        assert_eq!(
            stage_h3("linux/arm64", &["1.2", "from", &from]),
            "88970e8ae133a58fdd339ae79a46677657d2a6db8c35e20d70ecb914"
        );
        assert_eq!(
            stage_h3("linux/amd64", &["1.2", "from", &from]),
            h3(&["1.2", "from", &from])
        );
        assert_eq!(
            content_digest(
                "linux/amd64",
                "dockerfile",
                "9a61a05308b3edee15d1a801d7e876248ebab99e7f19a71da0abad0e"
            ),
            "e44a860d6570c1191f42cf8be56bd48cf0d9b8fac8af318c446b2503"
        );
    }

    /// The worked vectors of ../shared/spec/werf-build.md §4.1.
    #[test]
    fn spec_vectors() {
        let deps = h256(&["alpine:3.18", "RUN echo hi"]);
        assert_eq!(
            deps,
            "bc8f56dfe6f0b394d22886a88921a37c10005f7e153e5a24d796f79d4ef7bf1f"
        );
        let digest = h3(&["1.2", "dockerfile", &deps]);
        assert_eq!(
            digest,
            "9a61a05308b3edee15d1a801d7e876248ebab99e7f19a71da0abad0e"
        );
        assert_eq!(
            h3(&["1.2", "dockerfile-content", "", &digest, ""]),
            "e44a860d6570c1191f42cf8be56bd48cf0d9b8fac8af318c446b2503"
        );
        let from = h256(&["alpine:3.18"]);
        assert_eq!(
            h3(&["1.2", "from", &from]),
            "3dbd6d44689162ca0ebbdef149f0c467c9ba147c6e9a7759164efc0a"
        );
        assert_eq!(
            h3(&["linux/arm64", "1.2", "from", &from]),
            "88970e8ae133a58fdd339ae79a46677657d2a6db8c35e20d70ecb914"
        );
        assert_eq!(
            h256::<&str>(&[]),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
