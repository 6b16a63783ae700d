"""Forms: ``files=`` (with ``data=``) as multipart/form-data built by the engine's multipart
builder, and ``data=`` alone as application/x-www-form-urlencoded, in httpx's forms.

Multipart bodies are checked by real parsers on the server side: the test server's
``POST /multipart`` (the multer crate), which answers one line per part,
``name|filename|content type|length|crc32``, and pytest-httpbin's ``/anything`` (werkzeug),
which echoes ``form`` and ``files``."""

from __future__ import annotations

import asyncio
import io
import os
import zlib

import pytest

import httpring


@pytest.fixture
def mp(testserver):
    return testserver.url + "/multipart"


def parts(response):
    """The test server's description of each part: [(name, filename, content type, bytes
    length, crc32)], in order."""
    assert response.status_code == 200, response.text
    out = []
    for line in response.text.splitlines():
        name, filename, ctype, length, crc = line.split("|")
        out.append((name, filename, ctype, int(length), int(crc, 16)))
    return out


def part(name, data, filename="", ctype=""):
    """What the test server reports for a part with these bytes."""
    if isinstance(data, str):
        data = data.encode()
    return (name, filename, ctype, len(data), zlib.crc32(data))


# --- the forms of files= ----------------------------------------------------------------

def test_file_forms(client, mp, tmp_path):
    path = tmp_path / "report.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n")
    with open(path, "rb") as f:
        r = client.post(
            mp,
            files={
                "bare": b"\x00\x01raw",
                "fileobj": io.BytesIO(b"from a BytesIO"),
                "disk": f,
                "pair": ("notes.txt", b"text file"),
                "triple": ("pic.bin", b"\x89PNG", "image/png"),
                "quad": ("d.json", io.BytesIO(b"{}"), "text/plain", {"Content-Type": "application/json"}),
                "text": ("s.txt", "caf\u00e9"),
                "nofilename": (None, b"like a field"),
                "nofilename_typed": (None, b"typed", "application/x-thing"),
            },
        )
    assert parts(r) == [
        part("bare", b"\x00\x01raw", "upload", "application/octet-stream"),
        part("fileobj", b"from a BytesIO", "upload", "application/octet-stream"),
        part("disk", b"a,b\r\n1,2\r\n", "report.csv", "text/csv"),
        part("pair", b"text file", "notes.txt", "text/plain"),
        part("triple", b"\x89PNG", "pic.bin", "image/png"),
        # As httpx: a Content-Type in the part's headers wins over the third item.
        part("quad", b"{}", "d.json", "application/json"),
        part("text", "caf\u00e9", "s.txt", "text/plain"),
        part("nofilename", b"like a field"),
        part("nofilename_typed", b"typed", "", "application/x-thing"),
    ]


def test_data_and_files(client, mp):
    r = client.post(
        mp,
        data={"a": "1", "many": ["x", "y"], "n": 7, "f": 1.5, "yes": True, "none": None, "raw": b"\xff"},
        files=[("up", ("1.txt", b"one")), ("up", ("2.txt", b"two"))],
    )
    # Data fields first (list values one field each), then the files in order.
    assert parts(r) == [
        part("a", "1"),
        part("many", "x"),
        part("many", "y"),
        part("n", "7"),
        part("f", "1.5"),
        part("yes", "true"),
        part("none", ""),
        part("raw", b"\xff"),
        part("up", b"one", "1.txt", "text/plain"),
        part("up", b"two", "2.txt", "text/plain"),
    ]


def test_file_object_read_from_the_start(client, mp):
    f = io.BytesIO(b"whole content")
    f.read(5)
    assert parts(client.post(mp, files={"f": f})) == [part("f", b"whole content", "upload", "application/octet-stream")]


def test_one_mib_file(client, mp, tmp_path):
    # Random bytes, plus what a careless encoder would trip on: CRLF and "--" runs.
    data = os.urandom(1 << 20) + b"\r\n--\r\n--x--\r\n"
    path = tmp_path / "big.bin"
    path.write_bytes(data)
    with open(path, "rb") as f:
        r = client.post(mp, files={"big": f, "again": ("copy.zzq", data)}, data={"k": "v"})
    assert parts(r) == [
        part("k", "v"),
        part("big", data, "big.bin", "application/octet-stream"),
        part("again", data, "copy.zzq", "application/octet-stream"),
    ]


def test_non_ascii_names(client, mp):
    r = client.post(
        mp,
        data={"na\u00efve": "\u00e9t\u00e9", "\u65e5\u672c": "\u8a9e"},
        files={"\u0444\u0430\u0439\u043b": ("r\u00e9sum\u00e9 \u65e5\u672c.txt", "\u00fcber".encode())},
    )
    assert parts(r) == [
        part("na\u00efve", "\u00e9t\u00e9"),
        part("\u65e5\u672c", "\u8a9e"),
        part("\u0444\u0430\u0439\u043b", "\u00fcber", "r\u00e9sum\u00e9 \u65e5\u672c.txt", "text/plain"),
    ]


def test_werkzeug_parses_it(client, httpbin):
    # A second parser: pytest-httpbin (werkzeug) echoes the form and the files.
    r = client.post(
        httpbin.url + "/anything",
        data={"field": "value", "list": ["1", "2"]},
        files={"upload": ("hello.txt", b"hello world", "text/plain")},
    )
    echo = r.json()
    assert echo["headers"]["Content-Type"].startswith("multipart/form-data; boundary=")
    assert int(echo["headers"]["Content-Length"]) > len(b"hello world")
    assert echo["form"] == {"field": "value", "list": ["1", "2"]}
    assert echo["files"] == {"upload": "hello world"}


def test_content_type_replaced_and_headers_kept(client, httpbin):
    r = client.post(
        httpbin.url + "/anything",
        files={"f": b"x"},
        headers={"Content-Type": "text/plain", "X-Extra": "1"},
    )
    headers = r.json()["headers"]
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    assert headers["X-Extra"] == "1"


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_other_methods(client, mp, testserver, method):
    r = client.request(method, testserver.url + "/echo", files={"f": b"x"})
    assert r.json()["method"] == method
    assert r.json()["headers"]["content-type"].startswith("multipart/form-data; boundary=")
    assert "x" in r.json()["body"]


def test_empty_files_is_not_multipart(client, server):
    # As httpx: files={} is no files; data= alone is form-encoded.
    r = client.post(server.echo(), data={"a": "1"}, files={})
    assert server.parse_echo(r)["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_content_wins_over_files(client, testserver):
    r = client.post(testserver.url + "/echo", content=b"raw", files={"f": b"x"})
    assert r.json()["body"] == "raw"


# --- every way a request is sent ---------------------------------------------------------

def test_built_request_sent_twice(client, mp):
    req = client.build_request("POST", mp, files={"f": ("a.txt", b"abc")}, data={"d": "1"})
    expected = [part("d", "1"), part("f", b"abc", "a.txt", "text/plain")]
    assert parts(client.send(req)) == expected
    assert parts(client.send(req)) == expected


def test_send_many_mixes_forms_and_plain(client, mp, testserver):
    form = client.build_request("POST", mp, files={"f": b"1"})
    plain = client.build_request("POST", testserver.url + "/echo", content=b"plain")
    out = client.send_many([form, plain, testserver.url + "/hello", form])
    assert parts(out[0]) == parts(out[3]) == [part("f", b"1", "upload", "application/octet-stream")]
    assert out[1].json()["body"] == "plain"
    assert out[2].text == "Hello, world!"


def test_per_request_timeout_and_redirects(client, httpbin):
    # A per-request timeout and a 307 that keeps the body: the form is re-sent on the hop.
    r = client.post(
        httpbin.url + "/redirect-to",
        params={"url": "/anything", "status_code": 307},
        files={"f": ("a.txt", b"kept")},
        timeout=10,
        follow_redirects=True,
    )
    assert r.history[0].status_code == 307
    assert r.json()["files"] == {"f": "kept"}


def test_handle_api(client, mp):
    h = client.submit("POST", mp, files={"f": b"h"}, user_data=5)
    assert parts(h.response()) == [part("f", b"h", "upload", "application/octet-stream")]


def test_async(mp):
    async def main():
        async with httpring.AsyncClient() as c:
            one = await c.post(mp, files={"f": ("x.txt", b"x")})
            many = await asyncio.gather(*(c.post(mp, files={"n": (f"{i}.txt", b"%d" % i)}) for i in range(10)))
            req = c.build_request("PUT", mp, files={"g": b"g"})
            batch = await c.send_many([req, mp.replace("/multipart", "/hello"), req])
            return one, many, batch

    one, many, batch = asyncio.run(main())
    assert parts(one) == [part("f", b"x", "x.txt", "text/plain")]
    assert [parts(r) for r in many] == [[part("n", b"%d" % i, f"{i}.txt", "text/plain")] for i in range(10)]
    assert parts(batch[0]) == parts(batch[2]) == [part("g", b"g", "upload", "application/octet-stream")]
    assert batch[1].text == "Hello, world!"


def test_module_function(mp):
    assert parts(httpring.post(mp, files={"f": b"m"})) == [part("f", b"m", "upload", "application/octet-stream")]


# --- refused before anything is sent ---------------------------------------------------

def test_text_mode_files_refused(client, mp, tmp_path):
    with pytest.raises(TypeError, match="io.BytesIO"):
        client.post(mp, files={"f": io.StringIO("x")})
    path = tmp_path / "t.txt"
    path.write_text("x")
    with open(path) as f, pytest.raises(TypeError, match="binary mode"):
        client.post(mp, files={"f": f})


def test_bad_forms_refused(client, mp):
    with pytest.raises(TypeError, match="mapping"):
        client.post(mp, data=b"raw", files={"f": b"x"})
    with pytest.raises(TypeError, match="primitive"):
        client.post(mp, data={"a": object()}, files={"f": b"x"})
    with pytest.raises(TypeError, match="must be str"):
        client.post(mp, files={1: b"x"})
    with pytest.raises(TypeError, match="tuple"):
        client.post(mp, files={"f": ("a", b"x", "t", {}, "extra")})
    with pytest.raises(NotImplementedError, match="X-Part"):
        client.post(mp, files={"f": ("a", b"x", "text/plain", {"X-Part": "1"})})
    with pytest.raises(ValueError, match="NUL"):
        client.post(mp, files={"f\0": b"x"})
    # The engine refuses a content type that could break the part's head.
    with pytest.raises(httpring.LocalProtocolError):
        client.post(mp, files={"f": ("a", b"x", "text/plain\r\nX-Injected: 1")})
    assert client.live_handles() == 0


# --- data= alone: application/x-www-form-urlencoded ------------------------------------

def test_urlencoded(client, server):
    r = client.post(server.echo(), data={"a": "1", "many": ["x", "y"], "sp": "a b&c=\u00e9", "t": True})
    echo = server.parse_echo(r)
    assert echo["headers"]["content-type"] == "application/x-www-form-urlencoded"
    if server.is_httpbin:
        assert echo["form"] == {"a": "1", "many": ["x", "y"], "sp": "a b&c=\u00e9", "t": "true"}
    else:
        assert echo["body"] == "a=1&many=x&many=y&sp=a+b%26c%3D%C3%A9&t=true"


def test_urlencoded_list_of_pairs(client, testserver):
    r = client.post(testserver.url + "/echo", data=[("k", "1"), ("k", "2")])
    assert r.json()["body"] == "k=1&k=2"
    assert r.json()["headers"]["content-type"] == "application/x-www-form-urlencoded"


# --- a form in a Request that Python code sees -------------------------------------------
# httpring.Request(files=...), build_request, event hooks, transports and Response.request
# hold the form encoded in Python, in the engine's layout: content and Content-Type as in
# httpx.

def werkzeug_parts(content, content_type):
    """(form, files) as werkzeug parses a multipart body: {name: [values]},
    {name: [(filename, content type, bytes)]}."""
    wrappers = pytest.importorskip("werkzeug.wrappers")
    wr = wrappers.Request.from_values(
        input_stream=io.BytesIO(content), content_length=len(content), content_type=content_type, method="POST"
    )
    form = {k: wr.form.getlist(k) for k in wr.form}
    files = {k: [(f.filename, f.content_type, f.read()) for f in wr.files.getlist(k)] for k in wr.files}
    return form, files


FORM = dict(
    data={"a": "1", "many": ["x", "y"], "q\"uote": "\u00e9"},
    files={"up": ("r\u00e9sum\u00e9.txt", b"one\r\n--two"), "bin": b"\x00\xff", "typed": (None, b"t", "application/x-t")},
)
FORM_FIELDS = {"a": ["1"], "many": ["x", "y"], 'q"uote': ["\u00e9"], "typed": ["t"]}
FORM_FILES = {
    "up": [("r\u00e9sum\u00e9.txt", "text/plain", b"one\r\n--two")],
    "bin": [("upload", "application/octet-stream", b"\x00\xff")],
}


def test_request_constructed_with_files():
    req = httpring.Request("POST", "http://127.0.0.1:1/up", headers={"Content-Type": "text/plain"}, **FORM)
    ctype = req.headers["content-type"]
    assert ctype.startswith("multipart/form-data; boundary=httpring-")
    assert req.headers.get_list("content-type") == [ctype]  # the one given is replaced
    assert werkzeug_parts(req.content, ctype) == (FORM_FIELDS, FORM_FILES)
    assert req.read() == req.content
    # content= wins over files=, as in httpx.
    assert httpring.Request("POST", "http://127.0.0.1:1/", content=b"raw", files={"f": b"x"}).content == b"raw"


def test_constructed_and_built_requests_are_sent_as_shown(client, mp):
    expected = [part("d", "1"), part("f", b"abc", "a.txt", "text/plain")]
    req = httpring.Request("POST", mp, data={"d": "1"}, files={"f": ("a.txt", b"abc")})
    assert parts(client.send(req)) == expected
    built = client.build_request("POST", mp, data={"d": "1"}, files={"f": ("a.txt", b"abc")})
    assert built.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert werkzeug_parts(built.content, built.headers["content-type"]) == ({"d": ["1"]}, {"f": [("a.txt", "text/plain", b"abc")]})
    assert parts(client.send(built)) == expected


def test_python_encoding_matches_the_engines(client, testserver):
    # The same form encoded by the engine (sent straight) and by Python (a built request):
    # byte for byte the same once the boundaries are set aside.
    form = dict(data={"k": "v", "n\"l\r\n": "w"}, files={"f": ("a\"b.txt", b"body"), "g": b"raw", "h": (None, b"x", "text/x")})
    engine = client.post(testserver.url + "/echo", **form).json()
    built = client.build_request("POST", testserver.url + "/echo", **form)
    engine_boundary = engine["headers"]["content-type"].split("boundary=")[1]
    python_boundary = built.headers["content-type"].split("boundary=")[1]
    assert engine["body"].replace(engine_boundary, "B") == built.content.decode().replace(python_boundary, "B")


def test_mock_transport_sees_the_form():
    seen = []

    def handler(request):
        seen.append(werkzeug_parts(request.content, request.headers["content-type"]))
        return httpring.Response(201)

    with httpring.Client(transport=httpring.MockTransport(handler)) as c:
        assert c.post("http://api.test/up", **FORM).status_code == 201
        c.send(c.build_request("PUT", "http://api.test/up", **FORM))
        c.send_many([c.build_request("POST", "http://api.test/up", **FORM)])

    async def run():
        async with httpring.AsyncClient(transport=httpring.MockTransport(handler)) as ac:
            await ac.post("http://api.test/up", **FORM)

    asyncio.run(run())
    assert seen == [(FORM_FIELDS, FORM_FILES)] * 4


def test_hooks_and_response_request_see_the_form(client, mp):
    seen = []
    with httpring.Client(event_hooks={"request": [lambda r: seen.append((r.headers["content-type"], r.content))]}) as c:
        r = c.post(mp, files={"f": ("a.txt", b"abc")})
    assert parts(r) == [part("f", b"abc", "a.txt", "text/plain")]
    assert werkzeug_parts(seen[0][1], seen[0][0]) == ({}, {"f": [("a.txt", "text/plain", b"abc")]})
    # Sent straight to the engine: Response.request shows the same form encoded in Python
    # (with a boundary of its own, not the one the engine chose).
    r = client.post(mp, files={"f": ("a.txt", b"abc")})
    sent = r.request
    assert werkzeug_parts(sent.content, sent.headers["content-type"]) == ({}, {"f": [("a.txt", "text/plain", b"abc")]})


def test_bad_content_type_refused_in_python_too():
    with pytest.raises(httpring.LocalProtocolError):
        httpring.Request("POST", "http://127.0.0.1:1/", files={"f": ("a", b"x", "text/plain\r\nX: 1")})
