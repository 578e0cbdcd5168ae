//! werf's secret format against what werf itself wrote: the
//! `render/secret-values` vector's files were encrypted with
//! `werf helm secret values encrypt` / `file encrypt` under a key the case
//! publishes, next to their plaintext.

use std::path::PathBuf;

use davit_goyaml::{load_all, Yaml};
use davit_secrets::{
    decrypt, decrypt_values, encrypt, encrypt_with_iv, find_key, Key, KeySources, SecretError,
};

const VECTOR_KEY: &str = "92f12f50b78d2910d0c23cb354252970";

fn case_dir() -> PathBuf {
    let dir = std::env::var("DAVIT_WERF_VECTORS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/werf-vectors")
        });
    let case = dir.join("render/secret-values");
    assert!(
        case.is_dir(),
        "{} is missing: the werf vectors belong beside the checkout (DAVIT_WERF_VECTORS)",
        case.display()
    );
    case
}

fn read(p: PathBuf) -> String {
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn decrypts_a_secret_file_werf_encrypted() {
    let case = case_dir();
    let key = Key::from_hex(VECTOR_KEY).expect("key");
    let plain = decrypt(
        &key,
        &read(case.join("tree/.helm/secret/token.txt")),
        "secret/token.txt",
    )
    .expect("decrypt");
    assert_eq!(
        String::from_utf8(plain).expect("utf8"),
        read(case.join("token.plain.txt"))
    );
}

/// Every scalar of the plaintext as the string werf's `%v` makes of it.
fn stringify(y: &Yaml) -> Yaml {
    match y {
        Yaml::Map(pairs) => Yaml::Map(
            pairs
                .iter()
                .map(|(k, v)| (k.clone(), davit_goyaml::Node::new(stringify(&v.value))))
                .collect(),
        ),
        Yaml::Seq(items) => Yaml::Seq(
            items
                .iter()
                .map(|i| davit_goyaml::Node::new(stringify(&i.value)))
                .collect(),
        ),
        Yaml::Null => Yaml::Null,
        Yaml::Str(s) => Yaml::Str(s.clone()),
        Yaml::Int(i) => Yaml::Str(i.to_string()),
        Yaml::Bool(b) => Yaml::Str(b.to_string()),
        other => Yaml::Str(format!("{other:?}")),
    }
}

fn strip(y: &Yaml) -> String {
    // Compare values only (positions differ): the Debug form without lines.
    match y {
        Yaml::Map(pairs) => format!(
            "{{{}}}",
            pairs
                .iter()
                .map(|(k, v)| format!("{}: {}", strip(&k.value), strip(&v.value)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Yaml::Seq(items) => format!(
            "[{}]",
            items
                .iter()
                .map(|i| strip(&i.value))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => format!("{other:?}"),
    }
}

#[test]
fn decrypts_secret_values_werf_encrypted_into_string_leaves() {
    let case = case_dir();
    let key = Key::from_hex(VECTOR_KEY).expect("key");
    let got = decrypt_values(
        &key,
        &read(case.join("tree/.helm/secret-values.yaml")),
        "secret-values.yaml",
    )
    .expect("decrypt values");
    let plain = load_all(&read(case.join("secret-values.plain.yaml"))).expect("plain");
    assert_eq!(strip(&got), strip(&stringify(&plain[0].value)));
    assert!(
        strip(&got).contains("Str(\"42\")"),
        "numbers come back as strings: {}",
        strip(&got)
    );
}

#[test]
fn a_wrong_key_names_the_value_and_prints_no_secret() {
    let case = case_dir();
    let wrong = Key::from_hex("00112233445566778899aabbccddeeff").expect("key");
    let text = read(case.join("tree/.helm/secret-values.yaml"));
    let e = decrypt_values(&wrong, &text, ".helm/secret-values.yaml").expect_err("wrong key");
    let msg = e.to_string();
    assert!(
        msg.starts_with(".helm/secret-values.yaml: db.password: cannot decrypt"),
        "{msg}"
    );
    assert!(msg.contains("does not match"), "{msg}");
    assert!(!msg.contains("1000") && !msg.contains("s3cr3t"), "{msg}");
}

#[test]
fn golden_and_round_trips_for_every_key_size() {
    let key = Key::from_hex(VECTOR_KEY).expect("key");
    let iv = [7u8; 16];
    let c = encrypt_with_iv(&key, b"hello", &iv);
    assert!(c.starts_with("1000070707"), "{c}");
    assert_eq!(c.len(), 2 * (2 + 16 + 16));
    assert_eq!(decrypt(&key, &c, "x").expect("decrypt"), b"hello");
    for hex_len in [32, 48, 64] {
        let k = Key::from_hex(&"ab".repeat(hex_len / 2)).expect("key");
        let c = encrypt(&k, "päss: wörd\n".as_bytes()).expect("encrypt");
        assert_eq!(
            decrypt(&k, &c, "x").expect("round trip"),
            "päss: wörd\n".as_bytes()
        );
    }
    assert_eq!(
        decrypt(&key, "1000", "v"),
        Err(SecretError::TooShort { what: "v".into() })
    );
    assert_eq!(
        decrypt(&key, "zz", "v"),
        Err(SecretError::NotHex { what: "v".into() })
    );
    assert!(Key::from_hex("abcd").is_err());
    assert_eq!(davit_secrets::generate_key().expect("key").len(), 32);
}

#[test]
fn the_key_is_looked_up_in_werfs_order() {
    let project = tempfile::tempdir().expect("project");
    let home = tempfile::tempdir().expect("home");
    let sources = |env: Option<&'static str>| KeySources {
        env_key: env,
        project_dir: project.path(),
        werf_home: Some(home.path().to_path_buf()),
    };
    let e = find_key(&sources(None)).expect_err("none");
    assert!(
        e.to_string()
            .starts_with("required encryption key not found in: \"$WERF_SECRET_KEY\""),
        "{e}"
    );
    std::fs::write(
        home.path().join("global_secret_key"),
        format!("{}\n", "11".repeat(16)),
    )
    .expect("write");
    assert_eq!(
        find_key(&sources(None)).expect("global").bytes(),
        &[0x11; 16]
    );
    std::fs::write(project.path().join(".werf_secret_key"), "22".repeat(16)).expect("write");
    assert_eq!(
        find_key(&sources(None)).expect("project").bytes(),
        &[0x22; 16]
    );
    assert_eq!(
        find_key(&sources(Some(VECTOR_KEY))).expect("env").bytes()[0],
        0x92
    );
}

#[test]
fn values_encrypt_then_decrypt_round_trips_as_werf_reads_them() {
    let key = Key::from_hex("92f12f50b78d2910d0c23cb354252970").unwrap();
    let plain = "db:\n  password: s3cr3t\n  port: 5432\nflags: [yes, 1.5, true]\nn: null\nempty:\n";
    let enc = davit_secrets::encrypt_values(&key, plain, "v.yaml").unwrap();
    let text = davit_goyaml::marshal(&enc);
    assert!(!text.contains("s3cr3t"), "{text}");
    // Keys keep their spelling (`n` is not YAML 1.1's false to werf).
    assert!(text.contains("\n\"n\": null"), "{text}");
    let dec = davit_goyaml::marshal(&davit_secrets::decrypt_values(&key, &text, "v.yaml").unwrap());
    assert_eq!(
        dec,
        "db:\n  password: s3cr3t\n  port: \"5432\"\nempty: null\nflags:\n- \"yes\"\n- \"1.5\"\n- \"true\"\n\"n\": null\n"
    );
}
