//! Fuzz target: any bytes as a template, parsed and executed with the werf
//! and Helm function sets under tight limits. It must never panic or hang;
//! bad input must come back as an `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    davit_gotmpl::fuzzing::render_bytes(data);
});
