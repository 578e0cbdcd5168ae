//! werf's secrets (../shared/spec/werf-ci-cleanup-deploy.md §5.5): values
//! and files encrypted with a hex AES key (128, 192 or 256 bits) as
//! `hex(LE u16 16 || IV || AES-CBC(PKCS#7(plaintext)))`, so every
//! ciphertext starts with `1000`.
//!
//! Errors never contain ciphertext, plaintext or the key.

mod cipher;
mod key;
mod values;

pub use cipher::{decrypt, encrypt, encrypt_with_iv, SecretError};
pub use key::{find_key, generate_key, Key, KeySources};
pub use values::{decrypt_values, encrypt_values};
