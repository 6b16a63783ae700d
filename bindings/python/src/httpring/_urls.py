"""URL handling done in Python before a request reaches the engine: base_url joining,
query params, fragments, and percent-encoding of non-ASCII URLs."""

from __future__ import annotations

from typing import Any, Iterator, List, Mapping, Optional, Tuple
from urllib.parse import SplitResult, parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

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


_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class URL(str):
    """A URL: the string itself, with httpx.URL's read-only parts (``scheme``, ``host``,
    ``port``, ``path``, ``query``, ``params``, ``fragment``, ``raw_path``). As a str it
    compares equal to the same URL written as a str, as httpx.URL does."""

    __slots__ = ()

    def __new__(cls, url: Any = "") -> "URL":
        return super().__new__(cls, to_str(url))

    def _parts(self) -> SplitResult:
        try:
            return urlsplit(self)
        except ValueError as e:
            raise InvalidURL(f"invalid URL {str(self)!r}: {e}") from None

    @property
    def scheme(self) -> str:
        return self._parts().scheme.lower()

    @property
    def host(self) -> str:
        return self._parts().hostname or ""

    @property
    def port(self) -> Optional[int]:
        """The port, None when it is the scheme's default (as httpx.URL)."""
        parts = self._parts()
        port = parts.port
        return None if port == _DEFAULT_PORTS.get(parts.scheme.lower()) else port

    @property
    def path(self) -> str:
        """The path, percent-decoded ("/" when empty)."""
        return unquote(self._parts().path) or "/"

    @property
    def query(self) -> bytes:
        return self._parts().query.encode("utf-8")

    @property
    def params(self) -> "QueryParams":
        return QueryParams(self._parts().query)

    @property
    def fragment(self) -> str:
        return self._parts().fragment

    @property
    def raw_path(self) -> bytes:
        """The path and query as sent in the request line."""
        parts = self._parts()
        path = parts.path or "/"
        return (path + "?" + parts.query if parts.query else path).encode("utf-8")

    def join(self, url: Any) -> "URL":
        return URL(urljoin(self, to_str(url)))

    def __repr__(self) -> str:
        return f"URL({str(self)!r})"


class QueryParams(Mapping[str, str]):
    """A URL's query as a read-only multi-dict (httpx.QueryParams): ``params["k"]`` is the
    first value, ``get_list("k")`` every one."""

    __slots__ = ("_items",)

    def __init__(self, params: Any = None) -> None:
        if params is None:
            self._items: List[Tuple[str, str]] = []
        elif isinstance(params, (str, bytes)):
            query = params.decode("utf-8") if isinstance(params, bytes) else params
            self._items = parse_qsl(query, keep_blank_values=True)
        else:
            items = params.items() if isinstance(params, Mapping) else params
            self._items = [
                (str(k), str(x))
                for k, v in items
                for x in (v if isinstance(v, (list, tuple)) else [v])
            ]

    def get_list(self, key: str) -> List[str]:
        return [v for k, v in self._items if k == key]

    def multi_items(self) -> List[Tuple[str, str]]:
        return list(self._items)

    def __getitem__(self, key: str) -> str:
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter({k: None for k, _ in self._items})

    def __len__(self) -> int:
        return len({k for k, _ in self._items})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            try:
                other = QueryParams(other)
            except (TypeError, ValueError):
                return False
        return sorted(self._items) == sorted(other._items)

    def __str__(self) -> str:
        return urlencode(self._items)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"
