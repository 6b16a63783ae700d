"""HTTPS against pytest-httpbin's local TLS server: only once the engine and the binding
support it. Today the committed C API has no TLS settings, so this documents the gap."""

from __future__ import annotations

import pytest

import httpring


def test_https_httpbin(httpbin_secure):
    with httpring.Client() as c:
        try:
            c.get(httpbin_secure.url + "/get")
        except httpring.UnsupportedProtocol:
            pytest.skip("the engine has no TLS yet (HTTPRING_ERR_UNSUPPORTED_SCHEME)")
        except httpring.HTTPError:
            pytest.skip(
                "pytest-httpbin's HTTPS server uses its own CA; the binding can pass a CA "
                "bundle (verify=path) once the engine's TLS settings are in include/httpring.h"
            )
