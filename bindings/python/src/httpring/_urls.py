"""URL handling done in Python before a request reaches the engine: base_url joining,
query params, fragments, and percent-encoding of non-ASCII URLs; and ``URL`` and
``QueryParams``, httpx's types for a request's and a response's URL."""

from __future__ import annotations

import re
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

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
    if isinstance(url, URL) or (hasattr(url, "scheme") and hasattr(url, "host")):
        return str(url)  # httpx.URL, yarl.URL, ...
    # As httpx: None, a number... is a TypeError, not a URL the engine refuses.
    raise TypeError(f"Invalid type for url: expected str or URL, got {type(url).__name__}: {url!r}")


def encode(url: str) -> bytes:
    """The bytes handed to the engine: non-ASCII percent-encoded (IDNA for the host), and
    no NUL (it would silently cut the C string short). A fragment stays: the engine never
    sends it, and puts it back on the response's URL (across redirects too)."""
    if url.__class__ is not str:  # an httpring.URL
        url = to_str(url)
    if not url.isascii():
        try:
            parts = urlsplit(url)
            netloc = parts.netloc
            if parts.hostname and not parts.hostname.isascii():
                host = parts.hostname.encode("idna").decode("ascii")
                netloc = netloc.replace(parts.hostname, host)
            url = urlunsplit(
                (
                    parts.scheme, netloc, quote(parts.path, safe=_SAFE), quote(parts.query, safe=_SAFE),
                    quote(parts.fragment, safe=_SAFE),
                )
            )
        except (ValueError, UnicodeError) as e:
            raise InvalidURL(f"invalid URL {url!r}: {e}") from None
    if "\x00" in url:
        raise InvalidURL(f"invalid URL {url!r}: contains NUL")
    return url.encode("ascii")


# --- httpx.URL and httpx.QueryParams -----------------------------------------------------

# scheme, authority, path, query, fragment (RFC 3986, appendix B); the query and fragment
# groups tell "absent" from "empty".
_URL_RE = re.compile(r"^(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$", re.S)
_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
_COPY_KEYS = frozenset(
    ("scheme", "netloc", "path", "query", "fragment", "username", "password", "userinfo", "host", "port", "raw_path", "params")
)


def _quote(text: str) -> str:
    """Percent-encodes what a URL cannot hold as is (non-ASCII, spaces, controls, ...),
    leaving existing escapes and the delimiters alone."""
    return quote(text, safe=_SAFE)


class URL:
    """A URL, as ``httpx.URL``: ``str(url)`` is its text; ``scheme``, ``host``, ``port``
    (None for the scheme's default), ``path`` (decoded), ``query`` (bytes), ``params``,
    ``fragment``, ``raw_path``, ``netloc``, ``userinfo``, ``username``, ``password``;
    ``join``, ``copy_with`` and the ``copy_*_param`` helpers. The scheme and host are
    lower-cased, a default port dropped and what a URL cannot hold percent-encoded; it
    compares equal to a URL or a str with the same text (after that normalization)."""

    __slots__ = ("_scheme", "_userinfo", "_host", "_port", "_path", "_query", "_fragment", "_has_authority", "_text")

    def __init__(self, url: Union["URL", str] = "", **kwargs: Any) -> None:
        if isinstance(url, URL):
            source = url
        elif isinstance(url, str):
            source = None
            self._parse(url)
        else:
            raise TypeError(f"Invalid type for url.  Expected str or httpring.URL, got {type(url)}: {url!r}")
        if source is not None:
            for name in URL.__slots__:
                setattr(self, name, getattr(source, name))
        if kwargs:
            self._apply(kwargs)

    def _parse(self, text: str) -> None:
        m = _URL_RE.match(text)
        assert m is not None  # every string matches
        scheme, authority, path, query, fragment = m.groups()
        self._scheme = (scheme or "").lower()
        self._has_authority = authority is not None
        self._userinfo = ""
        self._host = ""
        self._port: Optional[int] = None
        if authority:
            userinfo, at, hostport = authority.rpartition("@")
            self._userinfo = _quote(userinfo) if at else ""
            if hostport.startswith("["):
                host, _, rest = hostport[1:].partition("]")
                port = rest[1:] if rest.startswith(":") else ""
            else:
                host, _, port = hostport.partition(":")
            self._set_host(host)
            self._set_port(int(port) if port.isdigit() else port or None)
        self._path = _quote(path)
        self._query: Optional[str] = None if query is None else _quote(query)
        self._fragment: Optional[str] = None if fragment is None else _quote(fragment)
        self._text = ""

    def _set_host(self, host: str) -> None:
        host = host.lower()
        if not host.isascii():
            try:
                host = host.encode("idna").decode("ascii")
            except UnicodeError as e:
                raise InvalidURL(f"Invalid IDNA hostname: {host!r} ({e})") from None
        self._host = host

    def _set_port(self, port: Any) -> None:
        if port is not None and (isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536):
            raise InvalidURL(f"Invalid port: {port!r}")
        self._port = None if port == _DEFAULT_PORTS.get(self._scheme) else port

    def _apply(self, kwargs: Dict[str, Any]) -> None:
        unknown = set(kwargs) - _COPY_KEYS
        if unknown:
            raise TypeError(f"{sorted(unknown)[0]!r} is an invalid keyword argument for URL()")
        if "params" in kwargs:
            params = kwargs.pop("params")
            kwargs["query"] = None if not params else str(QueryParams(params)).encode("ascii")
        if "netloc" in kwargs:
            other = URL("//" + _text(kwargs.pop("netloc")))
            self._userinfo, self._host, self._has_authority = other._userinfo, other._host, True
            self._set_port(other._port)
        if "userinfo" in kwargs:
            self._userinfo = _quote(_text(kwargs.pop("userinfo")))
        if "username" in kwargs or "password" in kwargs:
            username = kwargs.pop("username", self.username)
            password = kwargs.pop("password", self.password)
            self._userinfo = quote(username, safe="") + (":" + quote(password, safe="") if password else "")
        if "scheme" in kwargs:
            self._scheme = kwargs.pop("scheme").lower()
            self._set_port(self._port)
        if "host" in kwargs:
            self._set_host(kwargs.pop("host"))
            self._has_authority = True
        if "port" in kwargs:
            self._set_port(kwargs.pop("port"))
        if "raw_path" in kwargs:
            path, question, query = _text(kwargs.pop("raw_path")).partition("?")
            self._path = _quote(path)
            self._query = _quote(query) if question else None
        if "path" in kwargs:
            self._path = _quote(kwargs.pop("path"))
        if "query" in kwargs:
            query = kwargs.pop("query")
            self._query = None if query is None else _quote(_text(query))
        if "fragment" in kwargs:
            fragment = kwargs.pop("fragment")
            self._fragment = None if fragment is None else _quote(fragment)
        self._text = ""

    # --- components ---
    @property
    def scheme(self) -> str:
        return self._scheme

    @property
    def userinfo(self) -> bytes:
        return self._userinfo.encode("ascii")

    @property
    def username(self) -> str:
        return unquote(self._userinfo.partition(":")[0])

    @property
    def password(self) -> str:
        return unquote(self._userinfo.partition(":")[2])

    @property
    def host(self) -> str:
        """The host, lower-case; an internationalized name decoded from its xn-- form."""
        host = self._host
        if "xn--" in host:
            try:
                return host.encode("ascii").decode("idna")
            except UnicodeError:
                pass
        return host

    @property
    def raw_host(self) -> bytes:
        return self._host.encode("ascii")

    @property
    def port(self) -> Optional[int]:
        """The port, or None when absent or the scheme's default."""
        return self._port

    @property
    def netloc(self) -> bytes:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return (host if self._port is None else f"{host}:{self._port}").encode("ascii")

    @property
    def path(self) -> str:
        return unquote(self._path or "/")

    @property
    def query(self) -> bytes:
        return (self._query or "").encode("ascii")

    @property
    def params(self) -> "QueryParams":
        return QueryParams(self._query or "")

    @property
    def raw_path(self) -> bytes:
        path = self._path or "/"
        if self._query is not None:
            path += "?" + self._query
        return path.encode("ascii")

    @property
    def fragment(self) -> str:
        return unquote(self._fragment or "")

    @property
    def is_absolute_url(self) -> bool:
        return bool(self._scheme and self._host)

    @property
    def is_relative_url(self) -> bool:
        return not self.is_absolute_url

    # --- derived URLs ---
    def copy_with(self, **kwargs: Any) -> "URL":
        return URL(self, **kwargs)

    def copy_set_param(self, key: str, value: Any = None) -> "URL":
        return self.copy_with(params=self.params.set(key, value))

    def copy_add_param(self, key: str, value: Any = None) -> "URL":
        return self.copy_with(params=self.params.add(key, value))

    def copy_remove_param(self, key: str) -> "URL":
        return self.copy_with(params=self.params.remove(key))

    def copy_merge_params(self, params: Any) -> "URL":
        return self.copy_with(params=self.params.merge(params))

    def join(self, url: Union["URL", str]) -> "URL":
        """``url`` resolved against this one (RFC 3986), e.g. a link or a Location."""
        return URL(urljoin(str(self), str(URL(url))))

    # --- text ---
    def __str__(self) -> str:
        text = self._text
        if not text:
            parts = []
            if self._scheme:
                parts.append(self._scheme + ":")
            if self._has_authority:
                parts.append("//")
                if self._userinfo:
                    parts.append(self._userinfo + "@")
                parts.append(self.netloc.decode("ascii"))
            parts.append(self._path)
            if self._query is not None:
                parts.append("?" + self._query)
            if self._fragment is not None:
                parts.append("#" + self._fragment)
            text = self._text = "".join(parts)
        return text

    def __repr__(self) -> str:
        text = str(self)
        if ":" in self._userinfo:
            text = text.replace(self._userinfo + "@", self._userinfo.partition(":")[0] + ":[secure]@", 1)
        return f"URL({text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, (URL, str)) and str(self) == str(URL(other))

    def __hash__(self) -> int:
        return hash(str(self))


def _text(value: Union[str, bytes]) -> str:
    return value.decode("ascii") if isinstance(value, bytes) else value


def _param_value(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


class QueryParams(Mapping[str, str]):
    """A URL's query as an immutable multi-dict, as ``httpx.QueryParams``: ``params["k"]``
    is the first value, ``get_list("k")`` all of them; ``set``, ``add``, ``remove`` and
    ``merge`` return new ones; ``str()`` gives the encoded query."""

    __slots__ = ("_list",)

    _list: List[Tuple[str, str]]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > 1 or (args and kwargs):
            raise TypeError("QueryParams takes one positional argument or keyword arguments")
        value: Any = args[0] if args else kwargs
        items: List[Tuple[str, str]] = []
        if value is None or isinstance(value, (str, bytes)):
            text = _text(value or "")
            items = parse_qsl(text, keep_blank_values=True)
        elif isinstance(value, QueryParams):
            items = list(value._list)
        else:
            pairs = value.items() if isinstance(value, Mapping) else value
            for k, v in pairs:
                values = v if isinstance(v, (list, tuple)) else [v]
                items.extend((str(k), _param_value(x)) for x in values)
        self._list = items

    def keys(self) -> Any:
        return {k: None for k, _ in self._list}.keys()

    def values(self) -> Any:
        return {k: self[k] for k in self.keys()}.values()

    def items(self) -> Any:
        return {k: self[k] for k in self.keys()}.items()

    def multi_items(self) -> List[Tuple[str, str]]:
        return list(self._list)

    def get_list(self, key: str) -> List[str]:
        return [v for k, v in self._list if k == key]

    def __getitem__(self, key: str) -> str:
        for k, v in self._list:
            if k == key:
                return v
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(k == key for k, _ in self._list)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def set(self, key: str, value: Any = None) -> "QueryParams":
        """The key's values replaced by ``value``, where the key first was (else last)."""
        q = QueryParams()
        new = (key, _param_value(value))
        for i, (k, _) in enumerate(self._list):
            if k == key:
                q._list = self._list[:i] + [new] + [item for item in self._list[i + 1 :] if item[0] != key]
                return q
        q._list = self._list + [new]
        return q

    def add(self, key: str, value: Any = None) -> "QueryParams":
        q = QueryParams()
        q._list = self._list + [(key, _param_value(value))]
        return q

    def remove(self, key: str) -> "QueryParams":
        q = QueryParams()
        q._list = [(k, v) for k, v in self._list if k != key]
        return q

    def merge(self, params: Any = None) -> "QueryParams":
        """These params with ``params``'s keys replaced by (or added with) its values, as
        httpx's: a replaced key keeps its place (``a=1&b=2`` merged with ``a=3`` is
        ``a=3&b=2``), new keys follow."""
        other = QueryParams(params)
        given: Dict[str, List[str]] = {}
        for k, v in other._list:
            given.setdefault(k, []).append(v)
        merged: List[Tuple[str, str]] = []
        placed = set()
        for k, v in self._list:
            if k not in given:
                merged.append((k, v))
            elif k not in placed:
                placed.add(k)
                merged.extend((k, x) for x in given[k])
        merged.extend((k, v) for k, v in other._list if k not in placed)
        q = QueryParams()
        q._list = merged
        return q

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"QueryParams({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QueryParams) and sorted(self._list) == sorted(other._list)

    def __hash__(self) -> int:
        return hash(str(self))
