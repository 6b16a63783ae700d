//! URLs and methods from callers: `Request::new` (Rust), `httpring_request_new` (C), and
//! submit on a client whose connections all go to a Unix socket that does not exist, so a
//! valid URL runs the whole path to the connect (Host header, scheme, port, proxy rules)
//! without touching the network. Each submit must complete exactly once.
#![no_main]

use std::ffi::CString;
use std::sync::LazyLock;
use std::time::Duration;

use httpring::ffi::{httpring_request_free, httpring_request_new};
use httpring::{Client, Config, Request};
use libfuzzer_sys::fuzz_target;

static CLIENT: LazyLock<Client> = LazyLock::new(|| {
    let mut cfg = Config::default();
    cfg.unix_socket = Some("/nonexistent/httpring-fuzz.sock".into());
    cfg.use_env_proxy = false;
    cfg.timeout = Some(Duration::from_millis(500));
    Client::new(cfg).expect("client")
});

/// A NUL-terminated copy of `b` up to its first NUL.
fn c_string(b: &[u8]) -> CString {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap()
}

fn submit_once(req: Request) {
    let client = &*CLIENT;
    let Ok(h) = client.submit(req) else { return };
    let mut out = Vec::new();
    client.wait_drain(&mut out, 4, 1, Some(Duration::from_secs(10)));
    let mine = out.iter().filter(|c| c.handle == h).count();
    assert_eq!(mine, 1, "completions for one submit: {out:?}");
    assert_eq!(out.len(), 1, "stray completions: {out:?}");
    client.free(h).expect("free");
}

fuzz_target!(|data: &[u8]| {
    // The whole input as a GET URL.
    let r = Request::new(b"GET", data);
    let _ = r.error();
    submit_once(r);

    // "METHOD URL", split at the first space.
    if let Some(i) = data.iter().position(|&b| b == b' ') {
        let (m, u) = (&data[..i], &data[i + 1..]);
        let r = Request::new(m, u);
        let _ = r.error();
        if m.len() <= 16 {
            submit_once(r);
        }
    }

    // The C ABI: never NULL for non-NULL strings, whatever they hold.
    let url = c_string(data);
    unsafe {
        let r = httpring_request_new(c"GET".as_ptr(), url.as_ptr());
        assert!(!r.is_null());
        httpring_request_free(r);
        let r = httpring_request_new(url.as_ptr(), url.as_ptr());
        assert!(!r.is_null());
        httpring_request_free(r);
    }
});
