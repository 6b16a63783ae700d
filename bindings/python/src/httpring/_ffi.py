"""Raw ctypes declarations of every function, struct and constant in include/httpring.h.

Each C function is declared exactly once, in ``SIGNATURES`` (return type, argument types);
``tests/test_ffi_header.py`` parses the header and fails if a name, an argument count or a
type drifts. The friendly layer (``_engine.py`` and the clients) never calls the library
any other way.

Type conventions (the drift test holds the same table):
- opaque ``httpring_client``/``httpring_config``/``httpring_request`` pointers are typed
  pointers to empty Structures, so one kind can never be passed as another;
- input byte buffers (``const uint8_t *``) are ``c_char_p``: a ``bytes`` object is passed
  without a copy, and its length always travels separately;
- borrowed output pointers (``const uint8_t **``) are ``POINTER(c_void_p)``: the address is
  read as an int and the bytes copied out (``_engine.string_at``) before the handle is freed.
"""

from __future__ import annotations

import ctypes
import os
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_bool,
    c_char,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint16,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Dict, List, Optional, Tuple

# --- enums -------------------------------------------------------------------------------

# enum httpring_code: values are stable; new codes are only appended.
HTTPRING_OK = 0
HTTPRING_PENDING = 1
HTTPRING_ERR_INVALID_ARGUMENT = 2
HTTPRING_ERR_INVALID_HANDLE = 3
HTTPRING_ERR_FOREIGN_HANDLE = 4
HTTPRING_ERR_INVALID_URL = 5
HTTPRING_ERR_UNSUPPORTED_SCHEME = 6
HTTPRING_ERR_INVALID_HEADER = 7
HTTPRING_ERR_INVALID_METHOD = 8
HTTPRING_ERR_DNS = 9
HTTPRING_ERR_CONNECT_REFUSED = 10
HTTPRING_ERR_CONNECT = 11
HTTPRING_ERR_CONNECT_TIMEOUT = 12
HTTPRING_ERR_TIMEOUT = 13
HTTPRING_ERR_READ_TIMEOUT = 14
HTTPRING_ERR_CANCELLED = 15
HTTPRING_ERR_PROTOCOL = 16
HTTPRING_ERR_IO = 17
HTTPRING_ERR_BODY_TOO_LARGE = 18
HTTPRING_ERR_CLIENT_CLOSED = 19
HTTPRING_ERR_NOT_FOUND = 20
HTTPRING_ERR_INTERNAL = 21
HTTPRING_ERR_TLS_CERTIFICATE = 22
HTTPRING_ERR_TLS = 23
HTTPRING_ERR_PROXY = 24
HTTPRING_ERR_TOO_MANY_REDIRECTS = 25
HTTPRING_ERR_INSECURE_REDIRECT = 26
HTTPRING_ERR_DECODING = 27
HTTPRING_ERR_POOL_TIMEOUT = 28
HTTPRING_ERR_WRITE_TIMEOUT = 29
HTTPRING_ERR_TOO_MANY_IN_FLIGHT = 30
HTTPRING_ERR_BODY_SOURCE = 31

# enum httpring_state
HTTPRING_STATE_PENDING = 0
HTTPRING_STATE_DONE = 1
HTTPRING_STATE_FAILED = 2

# enum httpring_event (httpring_completion.event)
HTTPRING_EVENT_DONE = 0
HTTPRING_EVENT_HEAD = 1
HTTPRING_EVENT_BODY = 2
HTTPRING_EVENT_WRITABLE = 3

# enum httpring_http_version
HTTPRING_HTTP_UNKNOWN = 0
HTTPRING_HTTP_1_0 = 10
HTTPRING_HTTP_1_1 = 11
HTTPRING_HTTP_2 = 20
HTTPRING_HTTP_3 = 30

# enum httpring_root_store (values for httpring_config_set_root_store)
HTTPRING_ROOTS_SYSTEM = 0
HTTPRING_ROOTS_BUNDLED = 1
HTTPRING_ROOTS_NONE = 2

# enum httpring_http_version_pref (values for httpring_config_set_http_version)
HTTPRING_HTTP_PREF_NEGOTIATE = 0
HTTPRING_HTTP_PREF_HTTP1_ONLY = 1
HTTPRING_HTTP_PREF_HTTP2_ONLY = 2

# The header this module mirrors (#define HTTPRING_VERSION_*); httpring_version_num() gives
# the loaded library's, to compare with HTTPRING_VERSION_NUM.
HTTPRING_VERSION_MAJOR = 0
HTTPRING_VERSION_MINOR = 1
HTTPRING_VERSION_PATCH = 0
HTTPRING_VERSION_NUM = 0x000100

# Bits of httpring_features() (#define HTTPRING_FEATURE_*).
HTTPRING_FEATURE_TLS = 1
HTTPRING_FEATURE_HTTP2 = 2
HTTPRING_FEATURE_PROXY = 4
HTTPRING_FEATURE_SOCKS = 8
HTTPRING_FEATURE_UNIX_SOCKETS = 16
HTTPRING_FEATURE_DECOMPRESS = 32
HTTPRING_FEATURE_SPEC_FLAGS = 64

# Typedefs: C enums cross the ABI as uint32_t, handles as uint64_t.
httpring_code = c_uint32
httpring_state = c_uint32
httpring_http_version = c_uint32
httpring_handle = c_uint64


# --- opaque types ------------------------------------------------------------------------


class httpring_client(Structure):
    """Opaque: only ever handled through a pointer (an id checked by the engine)."""


class httpring_config(Structure):
    """Opaque client settings."""


class httpring_request(Structure):
    """Opaque request under construction."""


class httpring_multipart(Structure):
    """Opaque multipart/form-data body under construction."""


class httpring_decoder(Structure):
    """Opaque content decoder (``httpring_decoder_new``)."""


# --- structs -----------------------------------------------------------------------------
# Every struct but httpring_header starts with struct_size, which the caller sets to the
# struct's size (docs/ABI.md); for arrays only element 0's is read, as the stride. Make
# them with new()/new_array(), which set it.


class httpring_completion(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("handle", httpring_handle),
        ("user_data", c_uint64),
        ("code", httpring_code),
        ("status", c_uint16),
        ("event", c_uint32),  # version 2: HTTPRING_EVENT_*
    ]


class httpring_stats(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("live_handles", c_size_t),
        ("pooled_connections", c_size_t),
        ("connections_opened", c_size_t),
        ("dns_lookups", c_size_t),
    ]


class httpring_header(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("name_len", c_size_t),
        ("value", c_char_p),
        ("value_len", c_size_t),
    ]


class httpring_request_spec(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("method", c_char_p),  # NULL means GET
        ("url", c_char_p),
        ("headers", POINTER(httpring_header)),
        ("nheaders", c_size_t),
        ("body", c_char_p),
        ("body_len", c_size_t),
        ("user_data", c_uint64),
        ("timeout_ms", c_int64),  # negative: the client's setting; 0: no limit
        ("connect_timeout_ms", c_int64),
        ("read_timeout_ms", c_int64),
        ("pool_timeout_ms", c_int64),  # version 4
        ("write_timeout_ms", c_int64),
        ("retries", c_int64),
        ("max_recv_speed", c_int64),
        ("max_send_speed", c_int64),
        ("low_speed_bytes_per_sec", c_int64),
        ("low_speed_time_ms", c_int64),
        ("flags", c_uint64),  # version 5: HTTPRING_SPEC_*
    ]


#: ``httpring_request_spec.flags``: the response is streamed.
HTTPRING_SPEC_STREAM = 1
#: ``httpring_redirect_next``'s flags: what of the request goes along to the next hop.
HTTPRING_REDIRECT_TO_GET = 1
HTTPRING_REDIRECT_CROSS_ORIGIN = 2
HTTPRING_REDIRECT_OTHER_HOST = 4


class httpring_response(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("status", c_uint16),
        ("version", httpring_http_version),
        ("body", c_void_p),
        ("body_len", c_size_t),
        ("header_count", c_size_t),
        ("url", c_void_p),
        ("url_len", c_size_t),
        ("elapsed_us", c_uint64),
    ]


class httpring_result(Structure):
    # httpring_response's fields side by side (not embedded: each struct grows on its own).
    _fields_ = [
        ("struct_size", c_uint32),
        ("code", httpring_code),
        ("status", c_uint16),
        ("version", httpring_http_version),
        ("body", c_void_p),
        ("body_len", c_size_t),
        ("header_count", c_size_t),
        ("url", c_void_p),
        ("url_len", c_size_t),
        ("elapsed_us", c_uint64),
        ("headers", c_void_p),
        ("headers_len", c_size_t),
        ("bytes_received", c_uint64),
        ("reason", c_void_p),
        ("reason_len", c_size_t),
        ("body_pieces", c_void_p),
        ("body_piece_count", c_size_t),
    ]


class httpring_piece(Structure):
    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class httpring_info(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("attempts", c_uint32),
        ("bytes_received", c_uint64),
        ("content_length", c_int64),
        ("queued_us", c_uint64),
        ("pool_us", c_uint64),
        ("dns_us", c_uint64),
        ("connect_us", c_uint64),
        ("tls_us", c_uint64),
        ("send_us", c_uint64),
        ("wait_us", c_uint64),
        ("receive_us", c_uint64),
        ("total_us", c_uint64),
        ("tls_version", c_uint16),
        ("reused", c_bool),
        ("remote_addr", c_char * 48),
        ("alpn", c_char * 16),
    ]


class httpring_chunk(Structure):
    _fields_ = [
        ("struct_size", c_uint32),
        ("flags", c_uint32),
        ("data", c_void_p),
        ("len", c_size_t),
        ("received", c_uint64),
    ]


#: ``httpring_chunk.flags``: the body ended with these bytes.
HTTPRING_CHUNK_LAST = 1


# Copying engine memory out: a read-only view of the whole address space, sliced at the
# engine's pointer, reads exactly [ptr, ptr + n) like ctypes.string_at, but without a
# foreign call (about half the cost, three times per response). The view is 2**62 bytes
# long, so no user-space address can fall outside it and be silently cut short.
ADDRESS_SPACE = memoryview((ctypes.c_char * (1 << 62)).from_address(0)).cast("B")


#: Every struct of the header (the drift test compares this list with it).
STRUCTS = (
    httpring_info,
    httpring_chunk,
    httpring_piece,
    httpring_completion,
    httpring_stats,
    httpring_header,
    httpring_request_spec,
    httpring_response,
    httpring_result,
)

def new(cls: Any) -> Any:
    """One caller-allocated struct with struct_size set."""
    out = cls()
    out.struct_size = ctypes.sizeof(cls)
    return out


def new_array(cls: Any, n: int) -> Any:
    """An array of n structs; element 0's struct_size (the stride) is set."""
    out = (cls * n)()
    if n:
        out[0].struct_size = ctypes.sizeof(cls)
    return out


httpring_completion_cb = CFUNCTYPE(None, c_void_p, POINTER(httpring_completion))
httpring_body_cb = CFUNCTYPE(httpring_code, c_void_p, c_void_p, c_size_t, POINTER(c_size_t))

client_p = POINTER(httpring_client)
config_p = POINTER(httpring_config)
request_p = POINTER(httpring_request)
multipart_p = POINTER(httpring_multipart)
decoder_p = POINTER(httpring_decoder)

# --- functions ---------------------------------------------------------------------------

# name -> (restype, argtypes). Every function of the header, in header order.
SIGNATURES: Dict[str, Tuple[Any, List[Any]]] = {}


def _declare(name: str, restype: Any, *argtypes: Any) -> None:
    SIGNATURES[name] = (restype, list(argtypes))


# client
_declare("httpring_client_new", client_p, config_p)
_declare("httpring_client_free", httpring_code, client_p)
_declare("httpring_client_fd", c_int, client_p)
_declare(
    "httpring_client_drain",
    httpring_code,
    client_p,
    POINTER(httpring_completion),
    c_size_t,
    POINTER(c_size_t),
)
_declare(
    "httpring_client_wait_drain",
    httpring_code,
    client_p,
    POINTER(httpring_completion),
    c_size_t,
    c_size_t,
    c_int64,
    POINTER(c_size_t),
)
_declare("httpring_client_set_callback", httpring_code, client_p, httpring_completion_cb, c_void_p)
_declare("httpring_client_stats", httpring_code, client_p, POINTER(httpring_stats))
_declare("httpring_client_live_handles", httpring_code, client_p, POINTER(c_size_t))
_declare("httpring_client_submit", httpring_code, client_p, request_p, POINTER(httpring_handle))
_declare(
    "httpring_client_send",
    httpring_code,
    client_p,
    c_char_p,  # method
    c_char_p,  # url
    POINTER(httpring_header),
    c_size_t,
    c_char_p,  # body
    c_size_t,
    c_uint64,  # user_data
    POINTER(httpring_handle),
)
_declare(
    "httpring_client_send_many",
    httpring_code,
    client_p,
    POINTER(httpring_request_spec),
    c_size_t,
    POINTER(httpring_handle),
    POINTER(httpring_code),
)
_declare("httpring_client_get", httpring_code, client_p, c_char_p, c_uint64, POINTER(httpring_handle))
_declare(
    "httpring_client_post",
    httpring_code,
    client_p,
    c_char_p,  # url
    c_char_p,  # content_type
    c_char_p,  # body
    c_size_t,
    c_uint64,
    POINTER(httpring_handle),
)
_declare(
    "httpring_client_post_json",
    httpring_code,
    client_p,
    c_char_p,
    c_char_p,
    c_size_t,
    c_uint64,
    POINTER(httpring_handle),
)
# errors and version
_declare("httpring_error_name", c_char_p, c_uint32)
_declare("httpring_version", c_char_p)
_declare("httpring_version_num", c_uint32)
_declare("httpring_features", c_uint64)
# config
_declare("httpring_config_new", config_p)
_declare("httpring_config_free", None, config_p)
_declare("httpring_config_set_connect_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_read_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_pool_idle_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_pool_max_idle_per_host", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_pool_max_idle", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_max_connections_per_host", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_max_connections", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_pool_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_write_timeout_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_max_in_flight", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_retries", httpring_code, config_p, c_uint32)
_declare("httpring_config_set_retry_backoff_ms", httpring_code, config_p, c_uint64, c_uint64)
_declare("httpring_config_set_retry_statuses", httpring_code, config_p, POINTER(c_uint16), c_size_t)
_declare("httpring_config_set_retry_non_idempotent", httpring_code, config_p, c_bool)
_declare("httpring_config_set_max_body_size", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_worker_threads", httpring_code, config_p, c_uint32)
_declare("httpring_config_set_user_agent", httpring_code, config_p, c_char_p)
_declare("httpring_config_add_default_header", httpring_code, config_p, c_char_p, c_char_p)
_declare("httpring_config_set_root_store", httpring_code, config_p, c_uint32)
_declare("httpring_config_add_ca_pem", httpring_code, config_p, c_char_p, c_size_t)
_declare("httpring_config_set_ca_file", httpring_code, config_p, c_char_p)
_declare(
    "httpring_config_set_client_cert_pem",
    httpring_code,
    config_p,
    c_char_p,  # cert chain PEM
    c_size_t,
    c_char_p,  # key PEM
    c_size_t,
)
_declare("httpring_config_set_client_cert_file", httpring_code, config_p, c_char_p, c_char_p)
_declare(
    "httpring_config_set_client_cert_pem_password",
    httpring_code,
    config_p,
    c_char_p,  # cert chain PEM
    c_size_t,
    c_char_p,  # key PEM
    c_size_t,
    c_char_p,  # password, NUL-terminated
)
_declare(
    "httpring_config_set_client_cert_file_password", httpring_code, config_p, c_char_p, c_char_p, c_char_p
)
_declare("httpring_config_set_danger_accept_invalid_certs", httpring_code, config_p, c_bool)
_declare("httpring_config_set_min_tls_version", httpring_code, config_p, c_uint32)
_declare("httpring_config_set_http_version", httpring_code, config_p, c_uint32)
_declare("httpring_config_set_h2c_prior_knowledge", httpring_code, config_p, c_bool)
_declare("httpring_config_set_body_pieces", httpring_code, config_p, c_bool)
_declare("httpring_config_set_wait_drives_io", httpring_code, config_p, c_bool)
_declare("httpring_config_set_follow_redirects", httpring_code, config_p, c_bool)
_declare("httpring_config_set_max_redirects", httpring_code, config_p, c_uint32)
_declare("httpring_config_set_redirect_allow_insecure", httpring_code, config_p, c_bool)
_declare("httpring_config_add_redirect_stop", httpring_code, config_p, c_char_p, c_bool)
_declare("httpring_config_set_decompress", httpring_code, config_p, c_bool)
_declare("httpring_config_set_basic_auth", httpring_code, config_p, c_char_p, c_char_p)
_declare("httpring_config_set_bearer_auth", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_digest_auth", httpring_code, config_p, c_char_p, c_char_p)
_declare("httpring_config_set_netrc", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_cookie_jar", httpring_code, config_p, c_bool)
_declare("httpring_config_add_resolve", httpring_code, config_p, c_char_p, c_uint16, c_char_p)
_declare("httpring_config_set_dns_cache_ttl_ms", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_proxy", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_use_env_proxy", httpring_code, config_p, c_bool)
_declare("httpring_config_add_no_proxy", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_unix_socket", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_local_address", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_tls_key_log", httpring_code, config_p, c_bool)
_declare("httpring_config_set_http2_keepalive", httpring_code, config_p, c_uint64, c_uint64, c_bool)
_declare("httpring_config_set_low_speed", httpring_code, config_p, c_uint64, c_uint64)
_declare("httpring_config_set_max_recv_speed", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_max_send_speed", httpring_code, config_p, c_uint64)
_declare("httpring_config_set_pinned_public_key", httpring_code, config_p, c_char_p)
_declare("httpring_config_set_tcp_keepalive", httpring_code, config_p, c_bool, c_uint64, c_uint64, c_uint32)
# handles
_declare("httpring_handle_poll", httpring_code, client_p, httpring_handle, POINTER(httpring_state))
_declare("httpring_handle_info", httpring_code, client_p, httpring_handle, POINTER(httpring_info))
_declare(
    "httpring_handle_wait",
    httpring_code,
    client_p,
    httpring_handle,
    c_int64,
    POINTER(httpring_state),
)
# streamed bodies
_declare("httpring_request_set_stream", httpring_code, request_p, c_bool)
_declare("httpring_config_set_stream_buffer", httpring_code, config_p, c_size_t)
_declare("httpring_config_set_max_response_headers", httpring_code, config_p, c_size_t)
_declare(
    "httpring_handle_read",
    httpring_code,
    client_p,
    httpring_handle,
    c_void_p,
    c_size_t,
    POINTER(c_size_t),
)
_declare("httpring_handle_read_chunk", httpring_code, client_p, httpring_handle, POINTER(httpring_chunk))
_declare("httpring_handle_wait_body", httpring_code, client_p, httpring_handle, c_int64)
# streamed request bodies
_declare(
    "httpring_request_set_body_callback",
    httpring_code,
    request_p,
    httpring_body_cb,
    c_void_p,
    c_int64,
)
_declare("httpring_request_set_body_fd", httpring_code, request_p, c_int, c_int64)
_declare("httpring_request_set_body_writer", httpring_code, request_p, c_int64)
_declare("httpring_request_set_no_auth", httpring_code, request_p)
_declare("httpring_request_remove_default_header", httpring_code, request_p, c_char_p)
_declare(
    "httpring_handle_write",
    httpring_code,
    client_p,
    httpring_handle,
    c_char_p,
    c_size_t,
    POINTER(c_size_t),
)
_declare("httpring_handle_finish_body", httpring_code, client_p, httpring_handle)
_declare("httpring_handle_wait_writable", httpring_code, client_p, httpring_handle, c_int64)
_declare("httpring_handle_resume_body", httpring_code, client_p, httpring_handle)
_declare(
    "httpring_handle_trailer",
    httpring_code,
    client_p,
    httpring_handle,
    c_char_p,
    c_size_t,
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare(
    "httpring_handle_wait_any",
    httpring_code,
    client_p,
    POINTER(httpring_handle),
    c_size_t,
    c_int64,
    POINTER(c_size_t),
)
_declare(
    "httpring_handle_wait_all",
    httpring_code,
    client_p,
    POINTER(httpring_handle),
    c_size_t,
    c_int64,
)
_declare("httpring_handle_cancel", httpring_code, client_p, httpring_handle)
_declare("httpring_handle_free", httpring_code, client_p, httpring_handle)
_declare("httpring_handles_free", httpring_code, client_p, POINTER(httpring_handle), c_size_t)
_declare(
    "httpring_handles_read",
    httpring_code,
    client_p,
    POINTER(httpring_handle),
    c_size_t,
    POINTER(httpring_result),
)
_declare(
    "httpring_handles_read_pieces",
    httpring_code,
    client_p,
    POINTER(httpring_handle),
    c_size_t,
    POINTER(httpring_result),
    POINTER(httpring_piece),
    c_size_t,
)
_declare("httpring_handle_error", httpring_code, client_p, httpring_handle)
_declare(
    "httpring_handle_error_message",
    httpring_code,
    client_p,
    httpring_handle,
    POINTER(c_char),
    c_size_t,
    POINTER(c_size_t),
)
_declare("httpring_handle_user_data", httpring_code, client_p, httpring_handle, POINTER(c_uint64))
# request builder
_declare("httpring_request_new", request_p, c_char_p, c_char_p)
_declare("httpring_request_free", None, request_p)
_declare("httpring_request_add_header", httpring_code, request_p, c_char_p, c_char_p)
_declare(
    "httpring_request_add_header_bytes",
    httpring_code,
    request_p,
    c_char_p,
    c_size_t,
    c_char_p,
    c_size_t,
)
_declare("httpring_request_set_body", httpring_code, request_p, c_char_p, c_size_t)
_declare("httpring_request_set_user_data", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_timeout_ms", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_connect_timeout_ms", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_read_timeout_ms", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_write_timeout_ms", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_low_speed", httpring_code, request_p, c_uint64, c_uint64)
_declare("httpring_request_set_max_recv_speed", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_max_send_speed", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_pool_timeout_ms", httpring_code, request_p, c_uint64)
_declare("httpring_request_set_retries", httpring_code, request_p, c_uint32)
_declare("httpring_request_set_follow_redirects", httpring_code, request_p, c_bool)
_declare("httpring_request_set_max_redirects", httpring_code, request_p, c_uint32)
_declare("httpring_request_set_decompress", httpring_code, request_p, c_bool)
_declare("httpring_decoder_new", httpring_code, c_char_p, POINTER(decoder_p))
_declare("httpring_auth_basic_value", httpring_code, c_char_p, c_char_p, POINTER(c_char), c_size_t, POINTER(c_size_t))
_declare(
    "httpring_auth_digest_answer",
    httpring_code,
    c_char_p,
    c_char_p,
    c_char_p,
    c_char_p,
    c_char_p,
    c_size_t,
    c_char_p,
    c_bool,
    POINTER(c_char),
    c_size_t,
    POINTER(c_size_t),
)
_declare(
    "httpring_redirect_next",
    httpring_code,
    c_char_p,
    c_char_p,
    c_uint16,
    c_char_p,
    c_bool,
    POINTER(c_char),
    c_size_t,
    POINTER(c_size_t),
    POINTER(c_uint32),
)
_declare("httpring_decoder_write", httpring_code, decoder_p, c_char_p, c_size_t)
_declare("httpring_decoder_end", httpring_code, decoder_p)
_declare("httpring_decoder_read", httpring_code, decoder_p, c_void_p, c_size_t, POINTER(c_size_t))
_declare("httpring_decoder_free", None, decoder_p)
_declare("httpring_request_set_basic_auth", httpring_code, request_p, c_char_p, c_char_p)
_declare("httpring_request_set_bearer_auth", httpring_code, request_p, c_char_p)
_declare("httpring_request_set_digest_auth", httpring_code, request_p, c_char_p, c_char_p)
_declare("httpring_client_cookie_add", httpring_code, client_p, c_char_p, c_char_p)
_declare("httpring_client_cookies_clear", httpring_code, client_p)
_declare("httpring_client_cookies_export", httpring_code, client_p, POINTER(c_char), c_size_t, POINTER(c_size_t))
_declare("httpring_client_netrc_value", httpring_code, client_p, c_char_p, POINTER(c_char), c_size_t, POINTER(c_size_t))
_declare("httpring_client_default_headers", httpring_code, client_p, POINTER(c_char), c_size_t, POINTER(c_size_t))
_declare("httpring_last_error_message", httpring_code, POINTER(c_char), c_size_t, POINTER(c_size_t))
_declare("httpring_client_cookies_import", httpring_code, client_p, c_char_p, POINTER(c_size_t))
_declare("httpring_client_cookies_load", httpring_code, client_p, c_char_p, POINTER(c_size_t))
_declare("httpring_client_cookies_save", httpring_code, client_p, c_char_p)
_declare("httpring_multipart_new", multipart_p)
_declare("httpring_multipart_free", None, multipart_p)
_declare("httpring_multipart_add_field", httpring_code, multipart_p, c_char_p, c_char_p, c_size_t)
_declare(
    "httpring_multipart_add_bytes",
    httpring_code,
    multipart_p,
    c_char_p,
    c_char_p,
    c_size_t,
    c_char_p,
    c_char_p,
)
_declare("httpring_multipart_add_file", httpring_code, multipart_p, c_char_p, c_char_p, c_char_p, c_char_p)
_declare("httpring_request_set_multipart", httpring_code, request_p, multipart_p)
_declare(
    "httpring_multipart_encoded",
    httpring_code,
    multipart_p,
    POINTER(c_void_p),
    POINTER(c_size_t),
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare("httpring_response_redirect_count", httpring_code, client_p, httpring_handle, POINTER(c_size_t))
_declare(
    "httpring_response_redirect",
    httpring_code,
    client_p,
    httpring_handle,
    c_size_t,
    POINTER(c_uint16),
    POINTER(c_void_p),
    POINTER(c_size_t),
)
# responses
_declare(
    "httpring_handle_response",
    httpring_code,
    client_p,
    httpring_handle,
    POINTER(httpring_response),
)
_declare(
    "httpring_response_body",
    httpring_code,
    client_p,
    httpring_handle,
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare(
    "httpring_response_reason",
    httpring_code,
    client_p,
    httpring_handle,
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare(
    "httpring_response_header",
    httpring_code,
    client_p,
    httpring_handle,
    c_char_p,
    c_size_t,
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare(
    "httpring_response_header_at",
    httpring_code,
    client_p,
    httpring_handle,
    c_size_t,
    POINTER(c_void_p),
    POINTER(c_size_t),
    POINTER(c_void_p),
    POINTER(c_size_t),
)
_declare(
    "httpring_response_headers_raw",
    httpring_code,
    client_p,
    httpring_handle,
    POINTER(c_void_p),
    POINTER(c_size_t),
)


# --- loading -----------------------------------------------------------------------------

LIB_NAME = "libhttpring.so"


def candidate_paths() -> List[str]:
    """Where the library is looked for, in order: $HTTPRING_LIB, inside the package (a
    pip install puts it there), then a repository checkout's target/release (development)."""
    paths = []
    env = os.environ.get("HTTPRING_LIB")
    if env:
        paths.append(env)
    here = os.path.dirname(os.path.abspath(__file__))
    paths.append(os.path.join(here, LIB_NAME))
    # bindings/python/src/httpring -> repository root
    root = os.path.normpath(os.path.join(here, "..", "..", "..", ".."))
    paths.append(os.path.join(root, "target", "release", LIB_NAME))
    return paths


class Lib:
    """The loaded library: one attribute per declared function, with argtypes set."""

    path: str

    def __init__(self, path: str) -> None:
        self.path = path
        # CDLL releases the GIL around every call: blocking waits let other threads run.
        self._dll = ctypes.CDLL(path)
        for name, (restype, argtypes) in SIGNATURES.items():
            fn = getattr(self._dll, name)
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)

    def __getattr__(self, name: str) -> Any:  # pragma: no cover - typing aid only
        raise AttributeError(f"{name} is not declared in httpring._ffi.SIGNATURES")


_lib: Optional[Lib] = None

# Every response body becomes a new bytes object, freed when the caller drops it. glibc
# gives the top of its heap back to the kernel whenever more than its trim threshold is
# free there, and that threshold starts at 128 KiB (blocks of 128 KiB and more are mmapped,
# each freed block unmapped): dropping one body after another then shrinks and regrows the
# heap every time, 16 page faults per 64 KiB body, about half the CPU of a bulk download.
# glibc raises both thresholds by itself the first time it frees a block it had mmapped
# (mmap threshold: that block's size, up to 32 MiB; trim threshold: twice it), as a program
# that handles one large buffer soon does. This does it once, at load, with a 16 MiB block:
# the heap then keeps up to 32 MiB of freed memory (never more than the process's peak).
# Measured, AsyncClient, 16 in flight: 64 KiB bodies 800 -> 1,650 MB/s, 1 MiB bodies
# 1,100 -> 3,400 MB/s. (64 KiB bodies no longer need it since the engine stopped freeing and
# allocating a read buffer per response, vendor/README.md patch 2; larger ones do.) Nothing
# changes when the process set its own thresholds (mallopt, GLIBC_TUNABLES: glibc then never
# adjusts), outside glibc, or with HTTPRING_MALLOC_TRIM=keep.
SETTLE_MALLOC_BLOCK = 16 << 20


def _settle_malloc() -> None:
    if os.environ.get("HTTPRING_MALLOC_TRIM") == "keep":
        return
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # glibc only: the dynamic threshold is its behaviour
    except (OSError, AttributeError):
        return
    malloc, free = libc.malloc, libc.free
    malloc.restype = ctypes.c_void_p
    malloc.argtypes = (ctypes.c_size_t,)
    free.restype = None
    free.argtypes = (ctypes.c_void_p,)
    free(malloc(SETTLE_MALLOC_BLOCK))


def load() -> Lib:
    """Loads the library once (on first use, not at import)."""
    global _lib
    if _lib is not None:
        return _lib
    _settle_malloc()
    tried = []
    env = os.environ.get("HTTPRING_LIB")
    for path in candidate_paths():
        if os.path.exists(path):
            _lib = Lib(path)
            return _lib
        tried.append(path)
        if env and path == env:
            raise OSError(f"HTTPRING_LIB={env!r} does not exist")
    import ctypes.util

    found = ctypes.util.find_library("httpring")
    if found:
        _lib = Lib(found)
        return _lib
    raise OSError(
        "libhttpring.so not found; install the package with pip (it builds the library), "
        "or set HTTPRING_LIB to a built library. Tried: " + ", ".join(tried)
    )


def error_name(code: int) -> str:
    name: bytes = load().httpring_error_name(code)
    return name.decode("ascii")


def last_error_message(lib: Any) -> str:
    """``httpring_last_error_message``: why the last failed call on this thread failed."""
    n = c_size_t()
    buf = ctypes.create_string_buffer(256)
    if lib.httpring_last_error_message(buf, len(buf), n):
        return ""
    if n.value >= len(buf):
        buf = ctypes.create_string_buffer(n.value + 1)
        if lib.httpring_last_error_message(buf, len(buf), n):
            return ""
    return buf.raw[: n.value].decode("utf-8", "replace")


def engine_version() -> str:
    """The engine library's version, e.g. "0.1.0"."""
    version: bytes = load().httpring_version()
    return version.decode("ascii")
