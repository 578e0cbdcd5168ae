//! sprig encodings and hashes, and the JSON functions.

use base64::Engine;
use sha1::Digest;

use super::conv::s;
use super::json;
use super::Registry;
use crate::func::Param::*;
use crate::value::Value;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Adler-32 (`hash/adler32`).
pub fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    (b << 16) | a
}

pub fn register(r: &mut Registry) {
    use base64::engine::general_purpose::STANDARD as B64;
    r.add("b64enc", &[Str], None, |a| Ok(B64.encode(s(&a[0])).into()));
    r.add("b64dec", &[Str], None, |a| {
        Ok(match B64.decode(s(&a[0])) {
            Ok(d) => String::from_utf8_lossy(&d).into_owned().into(),
            Err(e) => go_b64_error(s(&a[0]), &e).into(),
        })
    });
    r.add("b32enc", &[Str], None, |a| {
        Ok(data_encoding::BASE32.encode(s(&a[0]).as_bytes()).into())
    });
    r.add("b32dec", &[Str], None, |a| {
        Ok(match data_encoding::BASE32.decode(s(&a[0]).as_bytes()) {
            Ok(d) => String::from_utf8_lossy(&d).into_owned().into(),
            Err(e) => format!("illegal base32 data at input byte {}", e.position).into(),
        })
    });
    r.add("sha1sum", &[Str], None, |a| {
        Ok(hex(&sha1::Sha1::digest(s(&a[0]).as_bytes())).into())
    });
    r.add("sha256sum", &[Str], None, |a| {
        Ok(hex(&sha2::Sha256::digest(s(&a[0]).as_bytes())).into())
    });
    r.add("adler32sum", &[Str], None, |a| {
        Ok(adler32(s(&a[0]).as_bytes()).to_string().into())
    });

    r.add("toJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], true, None).unwrap_or_default().into())
    });
    r.add("mustToJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], true, None)?.into())
    });
    r.add("toPrettyJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], true, Some("  "))
            .unwrap_or_default()
            .into())
    });
    r.add("mustToPrettyJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], true, Some("  "))?.into())
    });
    r.add("toRawJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], false, None).unwrap_or_default().into())
    });
    r.add("mustToRawJson", &[Any], None, |a| {
        Ok(json::encode(&a[0], false, None)?.into())
    });
    r.add("fromJson", &[Str], None, |a| {
        Ok(json::decode(s(&a[0])).unwrap_or(Value::Nil))
    });
    r.add("mustFromJson", &[Str], None, |a| json::decode(s(&a[0])));
}

/// Where Go's base64 decoder reports corrupt input: the first byte outside
/// the alphabet, or the start of an incomplete final quantum.
fn go_b64_error(input: &str, _e: &base64::DecodeError) -> String {
    let alphabet = |c: u8| c.is_ascii_alphanumeric() || c == b'+' || c == b'/';
    let bytes: Vec<(usize, u8)> = input
        .bytes()
        .enumerate()
        .filter(|(_, c)| *c != b'\n' && *c != b'\r')
        .collect();
    let mut quantum_start = 0;
    for (n, (i, c)) in bytes.iter().enumerate() {
        if n % 4 == 0 {
            quantum_start = *i;
        }
        if *c == b'=' {
            return format!(
                "illegal base64 data at input byte {}",
                if n % 4 < 2 { *i } else { quantum_start }
            );
        }
        if !alphabet(*c) {
            return format!("illegal base64 data at input byte {i}");
        }
    }
    let pos = if bytes.len().is_multiple_of(4) {
        input.len()
    } else {
        quantum_start
    };
    format!("illegal base64 data at input byte {pos}")
}
