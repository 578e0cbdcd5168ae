//! Random values: `uuidv4`, `randAlphaNum` and friends, `randBytes`,
//! `shuffle`. Templates that use them render differently each time, in Go
//! as here.

use std::cell::Cell;

use base64::Engine;

use super::conv::{i, s};
use super::Registry;
use crate::func::Param::*;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0x9E37_79B9_7F4A_7C15);
    t ^ (std::process::id() as u64).rotate_left(32) | 1
}

/// xorshift64*: good enough for template helpers, which are not for secrets.
pub fn next_u64() -> u64 {
    STATE.with(|st| {
        let mut x = st.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        st.set(x);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    })
}

fn rand_from(alphabet: &[u8], n: i64) -> String {
    (0..n.max(0))
        .map(|_| alphabet[(next_u64() % alphabet.len() as u64) as usize] as char)
        .collect()
}

pub fn uuid_v4() -> String {
    let mut b = [0u8; 16];
    for chunk in b.chunks_mut(8) {
        chunk.copy_from_slice(&next_u64().to_le_bytes()[..chunk.len()]);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

pub fn register(r: &mut Registry) {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    const ALPHA: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const NUM: &[u8] = b"0123456789";
    r.add("randAlphaNum", &[Int], None, |a| {
        Ok(rand_from(ALNUM, i(&a[0]).min(1 << 20)).into())
    });
    r.add("randAlpha", &[Int], None, |a| {
        Ok(rand_from(ALPHA, i(&a[0]).min(1 << 20)).into())
    });
    r.add("randNumeric", &[Int], None, |a| {
        Ok(rand_from(NUM, i(&a[0]).min(1 << 20)).into())
    });
    r.add("randAscii", &[Int], None, |a| {
        let printable: Vec<u8> = (32u8..127).collect();
        Ok(rand_from(&printable, i(&a[0]).min(1 << 20)).into())
    });
    r.add("randBytes", &[Int], None, |a| {
        let n = i(&a[0]).clamp(0, 1 << 20) as usize;
        let bytes: Vec<u8> = (0..n).map(|_| next_u64() as u8).collect();
        Ok(base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into())
    });
    r.add("uuidv4", &[], None, |_| Ok(uuid_v4().into()));
    r.add("shuffle", &[Str], None, |a| {
        let mut c: Vec<char> = s(&a[0]).chars().collect();
        for k in (1..c.len()).rev() {
            let j = (next_u64() % (k as u64 + 1)) as usize;
            c.swap(k, j);
        }
        Ok(c.into_iter().collect::<String>().into())
    });
}
