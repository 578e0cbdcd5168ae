//! The ciphertext format.

use aes::cipher::{block_padding::Pkcs7, BlockDecryptMut, BlockEncryptMut, KeyIvInit};

use crate::key::Key;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("the secret key is not valid: {0}")]
    BadKey(String),
    #[error("{what}: the data is not a werf secret (expected encoded value as hex string)")]
    NotHex { what: String },
    #[error("{what}: minimum required data length is 34 bytes")]
    TooShort { what: String },
    #[error("{what}: cannot decrypt with this key: the secret key does not match the one it was encrypted with")]
    WrongKey { what: String },
    #[error("{what}: {message}")]
    Values { what: String, message: String },
    #[error("required encryption key not found in: {0}")]
    NoKey(String),
    #[error("generating a random key or IV failed: {0}")]
    Random(String),
}

const HEADER: [u8; 2] = [16, 0];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encrypts with a random IV.
pub fn encrypt(key: &Key, plaintext: &[u8]) -> Result<String, SecretError> {
    let mut iv = [0u8; 16];
    getrandom::getrandom(&mut iv).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(encrypt_with_iv(key, plaintext, &iv))
}

/// Encrypts with the given IV (tests pin it for golden vectors).
pub fn encrypt_with_iv(key: &Key, plaintext: &[u8], iv: &[u8; 16]) -> String {
    let body = match key.bytes().len() {
        16 => cbc::Encryptor::<aes::Aes128>::new(key.bytes().into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        24 => cbc::Encryptor::<aes::Aes192>::new(key.bytes().into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
        _ => cbc::Encryptor::<aes::Aes256>::new(key.bytes().into(), iv.into())
            .encrypt_padded_vec_mut::<Pkcs7>(plaintext),
    };
    let mut out = Vec::with_capacity(2 + 16 + body.len());
    out.extend_from_slice(&HEADER);
    out.extend_from_slice(iv);
    out.extend_from_slice(&body);
    hex(&out)
}

/// Decrypts a ciphertext; `what` names it in errors (a file, a key path).
pub fn decrypt(key: &Key, ciphertext: &str, what: &str) -> Result<Vec<u8>, SecretError> {
    let data = unhex(ciphertext).ok_or_else(|| SecretError::NotHex { what: what.into() })?;
    if data.len() < 34 {
        return Err(SecretError::TooShort { what: what.into() });
    }
    let iv = &data[2..18];
    let body = &data[18..];
    let wrong = || SecretError::WrongKey { what: what.into() };
    let plain = match key.bytes().len() {
        16 => cbc::Decryptor::<aes::Aes128>::new(key.bytes().into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(body),
        24 => cbc::Decryptor::<aes::Aes192>::new(key.bytes().into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(body),
        _ => cbc::Decryptor::<aes::Aes256>::new(key.bytes().into(), iv.into())
            .decrypt_padded_vec_mut::<Pkcs7>(body),
    };
    plain.map_err(|_| wrong())
}
