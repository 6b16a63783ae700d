"""URL handling done in Python before a request reaches the engine: base_url joining,
query params, fragments, and percent-encoding of non-ASCII URLs."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from ._exceptions import InvalidURL

# Characters left as they are when percent-encoding a non-ASCII URL.
_SAFE = "!#$%&'()*+,/:;=?@[]~"


def join_base(base_url: str, url: str) -> str:
    """httpx semantics: a relative URL is appended to base_url's path."""
    if not base_url or "://" in url:
        return url
    return base_url.rstrip("/") + "/" + url.lstrip("/")


def add_query(url: str, query: str) -> str:
    if not query:
        return url
    url, hash_, fragment = url.partition("#")
    sep = "&" if "?" in url else "?"
    if url.endswith(("?", "&")):
        sep = ""
    return url + sep + query + hash_ + fragment


def to_str(url: Any) -> str:
    if isinstance(url, str):
        return url
    if isinstance(url, bytes):
        return url.decode("utf-8")
    return str(url)  # httpx.URL, yarl.URL, ...


def encode(url: str) -> bytes:
    """The bytes handed to the engine: no fragment (never sent), non-ASCII percent-encoded
    (IDNA for the host), and no NUL (it would silently cut the C string short)."""
    if "#" in url:
        url = url.split("#", 1)[0]
    if not url.isascii():
        try:
            parts = urlsplit(url)
            netloc = parts.netloc
            if parts.hostname and not parts.hostname.isascii():
                host = parts.hostname.encode("idna").decode("ascii")
                netloc = netloc.replace(parts.hostname, host)
            url = urlunsplit(
                (parts.scheme, netloc, quote(parts.path, safe=_SAFE), quote(parts.query, safe=_SAFE), "")
            )
        except (ValueError, UnicodeError) as e:
            raise InvalidURL(f"invalid URL {url!r}: {e}") from None
    if "\x00" in url:
        raise InvalidURL(f"invalid URL {url!r}: contains NUL")
    return url.encode("ascii")
