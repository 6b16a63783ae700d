//! Content decoding (src/policy/decode.rs, through the `fuzzing` hook): the first byte picks
//! the coding (gzip, deflate, br, zstd, or two stacked) and where the body is cut into two
//! pieces, the rest is the encoded body. Must never panic, and never hand over more than the
//! limit.
#![no_main]

use libfuzzer_sys::fuzz_target;

const CODINGS: [&[u8]; 8] = [
    b"gzip",
    b"deflate",
    b"br",
    b"zstd",
    b"x-gzip",
    b"gzip, deflate",
    b"br, identity",
    b"zstd, gzip",
];
const MAX: u64 = 64 << 10;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let coding = CODINGS[(sel & 7) as usize];
    let cut = (((sel >> 3) as usize) * body.len() / 31).min(body.len());
    let (a, b) = body.split_at(cut);
    match httpring::fuzzing::decode(coding, &[a, b], MAX) {
        Ok(Some(n)) => assert!(n <= MAX, "decoded {n} bytes past the limit {MAX}"),
        Ok(None) => panic!("{coding:?} not decoded"),
        Err(_) => {}
    }
});
