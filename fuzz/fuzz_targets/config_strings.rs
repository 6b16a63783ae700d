//! Strings callers put in configs: proxy URLs (`proxy_check`, `httpring_config_set_proxy`),
//! `--resolve` overrides (`httpring_config_add_resolve`), no_proxy entries (and the client
//! built from them), default headers, and the Netscape cookie-file loader
//! (`Client::cookies_load_netscape`, on one client made once), `cookie_add`. The first byte
//! picks the entry point, the rest is the string.
#![no_main]

use std::ffi::CString;
use std::sync::LazyLock;

use httpring::ffi::*;
use httpring::{Client, Config};
use libfuzzer_sys::fuzz_target;

static JAR: LazyLock<Client> = LazyLock::new(|| {
    let mut cfg = Config::default();
    cfg.cookies = true;
    cfg.use_env_proxy = false;
    Client::new(cfg).expect("client")
});

fn c_string(b: &[u8]) -> CString {
    let end = b.iter().position(|&x| x == 0).unwrap_or(b.len());
    CString::new(&b[..end]).unwrap()
}

/// `s` split at its first newline.
fn split(s: &[u8]) -> (&[u8], &[u8]) {
    match s.iter().position(|&b| b == b'\n') {
        Some(i) => (&s[..i], &s[i + 1..]),
        None => (s, &[]),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&op, s)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(s);
    match op % 6 {
        0 => unsafe {
            let rust = httpring::proxy_check(&text).is_ok();
            let cfg = httpring_config_new();
            let c = c_string(s);
            let code = httpring_config_set_proxy(cfg, c.as_ptr());
            if !s.contains(&0) && std::str::from_utf8(s).is_ok() {
                assert_eq!(code == httpring_code::HTTPRING_OK, rust, "{code:?}");
            }
            httpring_config_free(cfg);
        },
        1 => unsafe {
            // "host\naddr"; the port from the host's length.
            let (host, addr) = split(s);
            let (h, a) = (c_string(host), c_string(addr));
            let cfg = httpring_config_new();
            let port = host.len() as u16 * 257;
            let _ = httpring_config_add_resolve(cfg, h.as_ptr(), port, a.as_ptr());
            let _ = httpring_config_add_resolve(cfg, h.as_ptr(), port, c"::1".as_ptr());
            httpring_config_free(cfg);
        },
        2 => {
            // Comma-separated no_proxy entries and, after a newline, a proxy URL: the rules
            // a client derives from them (no runtime or connection is started).
            let (np, proxy) = split(s);
            let mut cfg = Config::default();
            cfg.use_env_proxy = false;
            // No system roots: loading them per input would be most of the cost.
            cfg.tls.roots = httpring::RootStore::None;
            cfg.no_proxy = String::from_utf8_lossy(np)
                .split(',')
                .map(|e| e.trim().to_string())
                .collect();
            if !proxy.is_empty() {
                cfg.proxy = Some(String::from_utf8_lossy(proxy).into_owned());
            }
            if let Ok(c) = Client::new(cfg) {
                c.close();
            }
            unsafe {
                let cfg = httpring_config_new();
                let e = c_string(np);
                let _ = httpring_config_add_no_proxy(cfg, e.as_ptr());
                httpring_config_free(cfg);
            }
        }
        3 => {
            // A Netscape cookie file; what the jar then exports must load again.
            let jar = &*JAR;
            if jar.cookies_load_netscape(&text).is_ok() {
                let out = jar.cookies_netscape().expect("export");
                jar.cookies_clear().unwrap();
                jar.cookies_load_netscape(&out)
                    .unwrap_or_else(|e| panic!("the jar's own export does not load: {e}\n{out}"));
            }
            jar.cookies_clear().unwrap();
        }
        4 => {
            // "url\nSet-Cookie value"
            let (url, set) = split(s);
            let jar = &*JAR;
            let _ = jar.cookie_add(&String::from_utf8_lossy(url), &String::from_utf8_lossy(set));
            let _ = jar.cookies_netscape();
            jar.cookies_clear().unwrap();
        }
        _ => unsafe {
            // "name\nvalue" as a default header and the value as a User-Agent.
            let (n, v) = split(s);
            let mut cfg = Config::default();
            let _ = cfg.add_default_header(n, v);
            let _ = cfg.set_user_agent(v);
            let c = httpring_config_new();
            let (cn, cv) = (c_string(n), c_string(v));
            let _ = httpring_config_add_default_header(c, cn.as_ptr(), cv.as_ptr());
            let _ = httpring_config_set_user_agent(c, cv.as_ptr());
            httpring_config_free(c);
        },
    }
});
