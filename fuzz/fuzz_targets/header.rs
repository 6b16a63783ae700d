//! Caller headers: the input split at its first ':' (or in half) into name and value, through
//! `Request::add_header` and the C ABI's `httpring_request_add_header_bytes` and
//! `httpring_request_add_header` (NUL-terminated copies). A name that is not a token or a
//! value with CR, LF or NUL must be refused, by both, with the same answer.
#![no_main]

use std::ffi::CString;

use httpring::ffi::httpring_code;
use httpring::ffi::{
    httpring_request_add_header, httpring_request_add_header_bytes, httpring_request_free,
    httpring_request_new,
};
use httpring::Request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let at = data
        .iter()
        .position(|&b| b == b':')
        .unwrap_or(data.len() / 2);
    let (name, value) = (&data[..at], &data[(at + 1).min(data.len())..]);

    let mut r = Request::new(b"GET", b"http://127.0.0.1/");
    let rust_ok = r.add_header(name, value).is_ok();
    let forbidden = |b: &u8| matches!(*b, b'\r' | b'\n' | 0);
    if rust_ok {
        assert!(!name.is_empty(), "empty name accepted");
        assert!(!name.iter().any(forbidden), "name with CR/LF/NUL accepted");
        assert!(!name.contains(&b':'), "name with ':' accepted");
        assert!(
            !value.iter().any(forbidden),
            "value with CR/LF/NUL accepted"
        );
    }

    unsafe {
        let req = httpring_request_new(c"GET".as_ptr(), c"http://127.0.0.1/".as_ptr());
        assert!(!req.is_null());
        let code = httpring_request_add_header_bytes(
            req,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        );
        assert_eq!(
            code == httpring_code::HTTPRING_OK,
            rust_ok,
            "C and Rust disagree: code {code:?}"
        );
        // NUL-terminated: the strings end at their first NUL.
        let cut = |b: &[u8]| {
            CString::new(&b[..b.iter().position(|&x| x == 0).unwrap_or(b.len())]).unwrap()
        };
        let (n, v) = (cut(name), cut(value));
        let _ = httpring_request_add_header(req, n.as_ptr(), v.as_ptr());
        httpring_request_free(req);
    }
});
