//! `httpring_config`: a builder for client settings.

use std::ffi::c_char;

use super::code::httpring_code::{self, *};
use super::objects::Objects;
use super::ptr::{bytes, c_str, guard, guard_code};
use crate::{millis, Config};

/// Client settings. Create with `httpring_config_new`, adjust with the setters, pass to
/// `httpring_client_new` (which copies it), then free with `httpring_config_free`.
pub struct httpring_config {
    pub(crate) inner: Config,
}

/// Live configs (see `objects`).
pub(super) static CONFIGS: Objects<httpring_config> = Objects::new();

/// A config with the defaults: connect timeout 10 s, read timeout 30 s, no total timeout,
/// pool idle timeout 90 s, 256 idle connections per host, 1 GiB body limit, one worker
/// thread, a `User-Agent: httpring/VERSION` header. Free with `httpring_config_free`.
#[no_mangle]
pub extern "C" fn httpring_config_new() -> *mut httpring_config {
    guard(std::ptr::null_mut(), || {
        CONFIGS.insert(httpring_config {
            inner: Config::default(),
        })
    })
}

/// Frees a config. NULL, and a config already freed, are ignored.
#[no_mangle]
pub extern "C" fn httpring_config_free(cfg: *mut httpring_config) {
    guard((), || drop(CONFIGS.take(cfg)));
}

pub(super) fn with(
    cfg: *mut httpring_config,
    f: impl FnOnce(&mut Config) -> Result<(), httpring_code>,
) -> httpring_code {
    guard_code(|| {
        CONFIGS
            .with(cfg, |c| f(&mut c.inner))?
            .map(|()| HTTPRING_OK)
    })
}

/// `with` for setters that cannot fail.
pub(super) fn set(cfg: *mut httpring_config, f: impl FnOnce(&mut Config)) -> httpring_code {
    with(cfg, |x| {
        f(x);
        Ok(())
    })
}

/// Time allowed to resolve and connect, in milliseconds; 0 means no limit.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_connect_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.connect_timeout = millis(ms))
}

/// The low-speed limit, as curl's `CURLOPT_LOW_SPEED_LIMIT` and `CURLOPT_LOW_SPEED_TIME`: a
/// response body whose bytes arrive at under `bytes_per_sec` on average over `time_ms` of
/// waiting for the server fails with `HTTPRING_ERR_READ_TIMEOUT`. The read timeout catches a
/// server that goes silent; this catches one that trickles. The wait for the response head,
/// once the request and its body have gone, fails the same way when the server is silent
/// for `time_ms` (a speed of 0), or over HTTP/1.1 trickles the head in under that rate. A
/// streamed body's time held
/// back by its reader (buffer full) is not counted. A request body the server takes slower
/// than that, over `time_ms` with bytes ready for it, fails with `HTTPRING_ERR_WRITE_TIMEOUT`;
/// time its source (callback, writer, send-rate cap) has nothing is not counted. 0 for
/// either turns it off (the default).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_low_speed(
    cfg: *mut httpring_config,
    bytes_per_sec: u64,
    time_ms: u64,
) -> httpring_code {
    set(cfg, |c| {
        c.low_speed = crate::LowSpeed::from_ms(bytes_per_sec, time_ms)
    })
}

/// Reads each response body at no more than `bytes_per_sec` on average since its head
/// arrived (curl's `CURLOPT_MAX_RECV_SPEED_LARGE`, `--limit-rate`): past it, the engine pauses
/// reading, so TCP (or HTTP/2 flow control) holds the server back. The pauses count for
/// neither the read timeout nor the low-speed limit; the total timeout still applies.
/// 0 (the default) turns it off.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_recv_speed(
    cfg: *mut httpring_config,
    bytes_per_sec: u64,
) -> httpring_code {
    set(cfg, |c| {
        c.max_recv_speed = (bytes_per_sec > 0).then_some(bytes_per_sec)
    })
}

/// Sends each request body at no more than `bytes_per_sec` on average since it started (curl's
/// `CURLOPT_MAX_SEND_SPEED_LARGE`, `--limit-rate` for uploads): the body goes to the socket in
/// pieces, each after the time its bytes are due. Bytes bodies and streamed ones alike; the
/// length sent (Content-Length) is unchanged. The pauses count as progress for the read
/// timeout; the total timeout still applies. 0 (the default) turns it off.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_send_speed(
    cfg: *mut httpring_config,
    bytes_per_sec: u64,
) -> httpring_code {
    set(cfg, |c| {
        c.max_send_speed = (bytes_per_sec > 0).then_some(bytes_per_sec)
    })
}

/// Time allowed for a whole request, submit to last byte, in ms; 0 (default) means no limit.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.timeout = millis(ms))
}

/// Longest silence from the server while a response is awaited or read, in ms; 0: no limit.
/// Over HTTP/2 it is the request's own stream's silence: once the request and its body are
/// out, other streams' traffic on the connection does not count (while the request may wait
/// for a stream the server's limit holds back, or its body is still going out, it does).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_read_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.read_timeout = millis(ms))
}

/// How long an idle keep-alive connection is kept, in ms; 0 means forever.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_pool_idle_timeout_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| c.pool_idle_timeout = millis(ms))
}

/// Most idle connections kept per origin; 0 disables keep-alive reuse.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_pool_max_idle_per_host(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    set(cfg, |c| c.pool_max_idle_per_host = n)
}

/// Most header lines a response head may have over HTTP/1.1 (default 100, as reqwest's;
/// more fail the request with `HTTPRING_ERR_PROTOCOL`, "response head too large"). Raising
/// it costs one allocation per response; 0 is rejected. (HTTP/2 heads are limited by size.)
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_response_headers(
    cfg: *mut httpring_config,
    n: usize,
) -> httpring_code {
    with(cfg, |c| {
        if n == 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.max_response_headers = Some(n);
        Ok(())
    })
}

/// Largest response body accepted, in bytes; larger ones fail with
/// `HTTPRING_ERR_BODY_TOO_LARGE`. 0 is rejected.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_max_body_size(
    cfg: *mut httpring_config,
    bytes: u64,
) -> httpring_code {
    with(cfg, |c| {
        if bytes == 0 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.max_body_size = bytes;
        Ok(())
    })
}

/// Runtime threads: 1 (default) runs all I/O on one background thread; more use a
/// work-stealing pool. Must be 1..=256.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_worker_threads(
    cfg: *mut httpring_config,
    n: u32,
) -> httpring_code {
    with(cfg, |c| {
        if n == 0 || n > 256 {
            return Err(HTTPRING_ERR_INVALID_ARGUMENT);
        }
        c.worker_threads = n as usize;
        Ok(())
    })
}

/// With one worker (the default), a thread blocked in `httpring_handle_wait*` runs the
/// client's I/O itself while it waits, so a request's round trip needs no switch between
/// threads (default: on). Off: waiting threads sleep until the runtime's thread signals.
/// Either way requests progress when nobody waits.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_wait_drives_io(
    cfg: *mut httpring_config,
    enable: bool,
) -> httpring_code {
    set(cfg, |c| c.wait_drives_io = enable)
}

/// Keeps each buffered body in the pieces it was read in (at most 16; one that comes in
/// more is joined as it arrives) instead of joining them into one buffer as they come
/// (default: off). For a caller that reads bodies with `httpring_handles_read_pieces` and
/// copies them into objects of its own (a binding's string type): each byte is then
/// copied once, not twice. Any other way of reading a body (`httpring_handle_response`,
/// `httpring_response_body`, `httpring_handles_read`) joins the pieces on the caller's
/// thread at that call, into a buffer the handle keeps beside them.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_body_pieces(
    cfg: *mut httpring_config,
    enable: bool,
) -> httpring_code {
    set(cfg, |c| c.body_pieces = enable)
}

/// Replaces the User-Agent sent by default.
///
/// # Safety
/// `value` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_user_agent(
    cfg: *mut httpring_config,
    value: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let v = unsafe { c_str(value) }?;
        c.set_user_agent(v).map_err(Into::into)
    })
}

/// Adds a header sent with every request (a request's own header of the same name wins).
/// Fails with `HTTPRING_ERR_INVALID_HEADER` for CR, LF, NUL or a non-token name.
///
/// # Safety
/// `name` and `value` are NULL or NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_default_header(
    cfg: *mut httpring_config,
    name: *const c_char,
    value: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let (n, v) = unsafe { (c_str(name)?, c_str(value)?) };
        c.add_default_header(n, v).map_err(Into::into)
    })
}

/// Values for `httpring_config_set_root_store`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_root_store {
    /// The operating system's trusted certificates (default).
    HTTPRING_ROOTS_SYSTEM = 0,
    /// Mozilla's root certificates built into the library (webpki-roots).
    HTTPRING_ROOTS_BUNDLED = 1,
    /// Only CAs added with `httpring_config_add_ca_pem` / `_set_ca_file`.
    HTTPRING_ROOTS_NONE = 2,
}

/// Values for `httpring_config_set_http_version`.
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum httpring_http_version_pref {
    /// HTTP/2 when TLS negotiates it by ALPN, else HTTP/1.1 (default).
    HTTPRING_HTTP_PREF_NEGOTIATE = 0,
    /// HTTP/1.1 only.
    HTTPRING_HTTP_PREF_HTTP1_ONLY = 1,
    /// HTTP/2 only: ALPN offers only h2, and http:// URLs use h2c prior knowledge.
    HTTPRING_HTTP_PREF_HTTP2_ONLY = 2,
}

/// Chooses where trusted roots come from: one of `httpring_root_store`.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_root_store(
    cfg: *mut httpring_config,
    store: u32,
) -> httpring_code {
    with(cfg, |c| {
        c.tls.roots = match store {
            0 => crate::RootStore::System,
            1 => crate::RootStore::Bundled,
            2 => crate::RootStore::None,
            _ => return Err(HTTPRING_ERR_INVALID_ARGUMENT),
        };
        Ok(())
    })
}

/// Also trusts the CA certificate(s) in PEM text (`len` bytes). Fails with
/// `HTTPRING_ERR_INVALID_ARGUMENT` when no certificate parses.
///
/// # Safety
/// `pem` is valid for `len` bytes.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_ca_pem(
    cfg: *mut httpring_config,
    pem: *const u8,
    len: usize,
) -> httpring_code {
    with(cfg, |c| {
        c.add_root_pem(unsafe { bytes(pem, len)? })
            .map_err(Into::into)
    })
}

/// Also trusts the CA certificate(s) in a PEM file, read now.
///
/// # Safety
/// `path` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_ca_file(
    cfg: *mut httpring_config,
    path: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let pem = read_file(unsafe { c_str(path)? })?;
        c.add_root_pem(&pem).map_err(Into::into)
    })
}

/// Client certificate chain and private key (PEM) for servers that require mTLS.
///
/// # Safety
/// `cert` and `key` are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_client_cert_pem(
    cfg: *mut httpring_config,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
) -> httpring_code {
    with(cfg, |c| {
        let (cert, key) = unsafe { (bytes(cert, cert_len)?, bytes(key, key_len)?) };
        c.set_client_cert_pem(cert, key).map_err(Into::into)
    })
}

/// Like `httpring_config_set_client_cert_pem`, reading both PEM files now.
///
/// # Safety
/// `cert_path` and `key_path` are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_client_cert_file(
    cfg: *mut httpring_config,
    cert_path: *const c_char,
    key_path: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let cert = read_file(unsafe { c_str(cert_path)? })?;
        let key = read_file(unsafe { c_str(key_path)? })?;
        c.set_client_cert_pem(&cert, &key).map_err(Into::into)
    })
}

/// Like `httpring_config_set_client_cert_pem`, for a key encrypted with `password` (PKCS#8,
/// `BEGIN ENCRYPTED PRIVATE KEY`: what `openssl pkcs8 -topk8` writes; curl's `--pass`).
/// A plain key ignores the password. A wrong password, an encrypted key without one, or
/// OpenSSL's legacy encrypted format is `HTTPRING_ERR_INVALID_ARGUMENT` with a message.
///
/// # Safety
/// `cert` and `key` are valid for their lengths; `password` is NUL-terminated or NULL.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_client_cert_pem_password(
    cfg: *mut httpring_config,
    cert: *const u8,
    cert_len: usize,
    key: *const u8,
    key_len: usize,
    password: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let (cert, key) = unsafe { (bytes(cert, cert_len)?, bytes(key, key_len)?) };
        let password = (!password.is_null())
            .then(|| unsafe { c_str(password) })
            .transpose()?;
        c.set_client_cert_pem_password(cert, key, password)
            .map_err(Into::into)
    })
}

/// Like `httpring_config_set_client_cert_file`, for a key encrypted with `password` (see
/// `httpring_config_set_client_cert_pem_password`).
///
/// # Safety
/// `cert_path` and `key_path` are NUL-terminated strings; `password` too, or NULL.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_client_cert_file_password(
    cfg: *mut httpring_config,
    cert_path: *const c_char,
    key_path: *const c_char,
    password: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let cert = read_file(unsafe { c_str(cert_path)? })?;
        let key = read_file(unsafe { c_str(key_path)? })?;
        let password = (!password.is_null())
            .then(|| unsafe { c_str(password) })
            .transpose()?;
        c.set_client_cert_pem_password(&cert, &key, password)
            .map_err(Into::into)
    })
}

/// Pins the server's public key, as curl's `CURLOPT_PINNEDPUBLICKEY`: `pins` is
/// `sha256//BASE64` (the base64 of the SHA-256 digest of the certificate's
/// SubjectPublicKeyInfo), several separated by `;`. The certificate is verified as usual
/// first; then a key that is none of the pins fails the handshake with
/// `HTTPRING_ERR_TLS_CERTIFICATE` (also with `danger_accept_invalid_certs`). NULL or ""
/// removes the pins; a malformed pin is `HTTPRING_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// `pins` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_pinned_public_key(
    cfg: *mut httpring_config,
    pins: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let pins = if pins.is_null() {
            ""
        } else {
            std::str::from_utf8(unsafe { c_str(pins)? })
                .map_err(|_| httpring_code::HTTPRING_ERR_INVALID_ARGUMENT)?
        };
        c.set_pinned_public_key(pins).map_err(Into::into)
    })
}

/// DANGER: accept any server certificate (expired, self-signed, other host). Only for
/// tests against throwaway servers; it removes all protection TLS gives.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_danger_accept_invalid_certs(
    cfg: *mut httpring_config,
    accept: bool,
) -> httpring_code {
    set(cfg, |c| c.tls.danger_accept_invalid_certs = accept)
}

/// Lowest TLS version accepted: 12 (TLS 1.2, default) or 13.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_min_tls_version(
    cfg: *mut httpring_config,
    version: u32,
) -> httpring_code {
    with(cfg, |c| match version {
        12 | 13 => {
            c.tls.min_version = version as u8;
            Ok(())
        }
        _ => Err(HTTPRING_ERR_INVALID_ARGUMENT),
    })
}

/// Which HTTP versions to use: one of `httpring_http_version_pref`.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_http_version(
    cfg: *mut httpring_config,
    pref: u32,
) -> httpring_code {
    with(cfg, |c| {
        c.http_version = match pref {
            0 => crate::HttpVersionPref::Negotiate,
            1 => crate::HttpVersionPref::Http1Only,
            2 => crate::HttpVersionPref::Http2Only,
            _ => return Err(HTTPRING_ERR_INVALID_ARGUMENT),
        };
        Ok(())
    })
}

/// Speak HTTP/2 directly on http:// URLs (h2c with prior knowledge).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_h2c_prior_knowledge(
    cfg: *mut httpring_config,
    enable: bool,
) -> httpring_code {
    set(cfg, |c| c.h2c_prior_knowledge = enable)
}

/// Like curl's `--resolve host:port:addr`: connections to `host:port` go to `addr` (an
/// IPv4 or IPv6 literal) without asking DNS. Port 0 matches any port. Repeat to add
/// addresses.
///
/// # Safety
/// `host` and `addr` are NUL-terminated strings.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_resolve(
    cfg: *mut httpring_config,
    host: *const c_char,
    port: u16,
    addr: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let host = std::str::from_utf8(unsafe { c_str(host)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        let addr = std::str::from_utf8(unsafe { c_str(addr)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        let ip = addr
            .trim_matches(['[', ']'])
            .parse()
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        let lower = host.to_ascii_lowercase();
        if let Some(entry) = c
            .resolve_overrides
            .iter_mut()
            .find(|(h, p, _)| *h == lower && *p == port)
        {
            entry.2.push(ip);
            return Ok(());
        }
        c.add_resolve(host, port, vec![ip]).map_err(Into::into)
    })
}

/// How long resolved addresses are reused, in ms (default 60000; 0 disables the cache).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_dns_cache_ttl_ms(
    cfg: *mut httpring_config,
    ms: u64,
) -> httpring_code {
    set(cfg, |c| {
        c.dns_cache_ttl = std::time::Duration::from_millis(ms);
    })
}

/// Sends every request through this proxy: `http://[user:pass@]host:port` (CONNECT
/// tunnels for https), `https://` (the same inside TLS to the proxy, whose certificate is
/// verified as a server's), `socks5://` (names resolved here) or `socks5h://` (by the proxy).
/// NULL removes it. Overrides the environment variables.
///
/// # Safety
/// `url` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_proxy(
    cfg: *mut httpring_config,
    url: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        if url.is_null() {
            c.proxy = None;
            return Ok(());
        }
        let url = std::str::from_utf8(unsafe { c_str(url)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        crate::proxy_check(url)?;
        c.proxy = Some(url.to_string());
        Ok(())
    })
}

/// HTTP/2 keep-alive (as reqwest's `http2_keep_alive_*`): a PING every `interval_ms` on
/// each HTTP/2 connection with requests in flight, and also while it idles in the pool
/// when `while_idle`; a PING not answered within `timeout_ms` (0: 20 s) closes the
/// connection, and its requests fail at once with `HTTPRING_ERR_READ_TIMEOUT` rather than
/// after their own read timeouts. `interval_ms` 0 turns it off (the default).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_http2_keepalive(
    cfg: *mut httpring_config,
    interval_ms: u64,
    timeout_ms: u64,
    while_idle: bool,
) -> httpring_code {
    set(cfg, |c| {
        c.http2_keepalive = millis(interval_ms).map(|interval| crate::Http2Keepalive {
            interval,
            timeout: millis(timeout_ms).unwrap_or(std::time::Duration::from_secs(20)),
            while_idle,
        })
    })
}

/// Whether TLS secrets are appended to the file the `SSLKEYLOGFILE` environment variable
/// names (NSS key log format, which Wireshark reads to decrypt a capture), as curl and
/// browsers do. Default true; without the variable nothing is written. The variable is
/// read when the client makes its first https connection.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_tls_key_log(
    cfg: *mut httpring_config,
    enable: bool,
) -> httpring_code {
    set(cfg, |c| c.tls.key_log_from_env = enable)
}

/// Makes every TCP connection (to origins and proxies) leave from `addr`, an IPv4 or IPv6
/// literal (`"192.0.2.7"`, `"::1"`), like curl's `--interface ADDR`; only the server's
/// addresses of that family are then tried. NULL or `""` lets the system choose (the
/// default). Fails with `HTTPRING_ERR_INVALID_ARGUMENT` for anything else. An address
/// this host does not have fails each connection with `HTTPRING_ERR_CONNECT`.
///
/// # Safety
/// `addr` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_local_address(
    cfg: *mut httpring_config,
    addr: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        if addr.is_null() {
            c.local_address = None;
            return Ok(());
        }
        let addr = std::str::from_utf8(unsafe { c_str(addr)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        c.set_local_address(addr).map_err(Into::into)
    })
}

/// TCP keepalive on every TCP connection (`enable`; off by default, as in libcurl): the
/// system probes a connection silent for `idle_ms`, then every `interval_ms`, and closes it
/// after `count` unanswered probes, so a request on it fails instead of waiting for its
/// timeouts, and a dead idle connection leaves the pool. 0 keeps the system's value for
/// each (Linux: 7200 s, 75 s, 9). The kernel counts whole seconds (rounded up). Fails with
/// `HTTPRING_ERR_INVALID_ARGUMENT` above 32767 s or 127 probes.
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_tcp_keepalive(
    cfg: *mut httpring_config,
    enable: bool,
    idle_ms: u64,
    interval_ms: u64,
    count: u32,
) -> httpring_code {
    with(cfg, |c| {
        c.set_tcp_keepalive(enable.then_some(crate::TcpKeepalive {
            idle: millis(idle_ms),
            interval: millis(interval_ms),
            count: (count > 0).then_some(count),
        }))
        .map_err(Into::into)
    })
}

/// Whether `http_proxy`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` are honoured when no
/// proxy is configured (default true; they never apply to loopback addresses).
///
/// # Safety
/// `cfg` is NULL or a live config from `httpring_config_new`, not used by another thread
/// during the call.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_use_env_proxy(
    cfg: *mut httpring_config,
    enable: bool,
) -> httpring_code {
    set(cfg, |c| c.use_env_proxy = enable)
}

/// Adds a host (or a domain suffix such as `.internal`, or `*`) that is never proxied.
///
/// # Safety
/// `host` is a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_add_no_proxy(
    cfg: *mut httpring_config,
    host: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        let host = std::str::from_utf8(unsafe { c_str(host)? })
            .map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)?;
        c.no_proxy.push(host.to_string());
        Ok(())
    })
}

/// Sends every request over this Unix domain socket (e.g. /var/run/docker.sock); URLs
/// still give the Host header and path. NULL goes back to TCP.
///
/// # Safety
/// `path` is NULL or a NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn httpring_config_set_unix_socket(
    cfg: *mut httpring_config,
    path: *const c_char,
) -> httpring_code {
    with(cfg, |c| {
        c.unix_socket = if path.is_null() {
            None
        } else {
            use std::os::unix::ffi::OsStrExt;
            Some(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(
                unsafe { c_str(path)? },
            )))
        };
        Ok(())
    })
}

fn read_file(path: &[u8]) -> Result<Vec<u8>, httpring_code> {
    use std::os::unix::ffi::OsStrExt;
    std::fs::read(std::ffi::OsStr::from_bytes(path)).map_err(|_| HTTPRING_ERR_INVALID_ARGUMENT)
}
