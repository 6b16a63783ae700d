"""The README quickstart and the examples in examples/python run as documented."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
EXAMPLES = os.path.join(REPO, "examples", "python")
README = os.path.join(HERE, "..", "README.md")


def run_example(name, *args, timeout=60):
    path = os.path.join(EXAMPLES, name)
    if not os.path.exists(path):
        pytest.skip(f"{path} not found")
    out = subprocess.run(
        [sys.executable, path, *args], capture_output=True, text=True, timeout=timeout
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_http_demo_local_site():
    out = run_example("async_http_demo.py")
    assert out.count(" 200 HTTP/1.1") == 4
    assert "4 requests concurrently" in out


def test_http_demo_given_urls(testserver):
    out = run_example("async_http_demo.py", testserver.url + "/hello", testserver.url + "/status/404")
    assert " 200 HTTP/1.1" in out and " 404 HTTP/1.1" in out
    assert "2 requests concurrently" in out


def test_crawler_local_site():
    out = run_example("async_web_crawler.py")
    assert "sequential:   60 pages" in out
    assert "concurrent:   60 pages" in out
    assert "same set both times: True" in out
    speedup = float(re.search(r"speedup: ([\d.]+)x", out).group(1))
    assert speedup > 2


def test_crawler_given_url(testserver):
    out = run_example("async_web_crawler.py", testserver.url + "/site/0", "--max-pages", "10", "--concurrency", "4")
    assert "concurrent:   10 pages" in out


def test_sse_events_local_server():
    out = run_example("sse_events.py")
    assert out.startswith("200 HTTP/1.1 text/event-stream")
    events = re.findall(r"#(\d) message: (\d) \d+  \(sent ([\d.]+) ms ago\)", out)
    assert [(n, i) for n, i, _ in events] == [("1", "0"), ("2", "1"), ("3", "2"), ("4", "3"), ("5", "4")]
    assert out.rstrip().endswith("5 events")


def test_sse_events_given_url_async(testserver):
    out = run_example("sse_events.py", testserver.url + "/events/4/20", "--async", "--max", "3")
    assert len(re.findall(r"#\d message: ", out)) == 3
    assert out.rstrip().endswith("3 events")


def test_readme_quickstart():
    with open(README, encoding="utf-8") as f:
        code = re.search(r"```python\n(.*?)```", f.read(), re.S).group(1)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        out = subprocess.run(
            [sys.executable, "-c", code.replace("8000", str(port))],
            capture_output=True, text=True, timeout=60,
        )
    finally:
        server.kill()
        server.wait()
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("200 text/html")
    assert "[200, 200, 200, 200, 200, 200, 200, 200, 200, 200]" in out.stdout


def test_upload_local_server():
    out = run_example("upload.py", "--mb", "32")
    assert out.startswith("200 HTTP/1.1") and '"received": 33554432' in out and '"chunked": true' in out
    growth = float(re.search(r"peak RSS grew by ([\d.]+) MiB", out).group(1))
    assert growth < 16


def test_upload_given_url_async_and_file(testserver, tmp_path):
    out = run_example("upload.py", testserver.url + "/upload", "--mb", "4", "--async")
    assert '"received": 4194304' in out
    path = tmp_path / "f.bin"
    path.write_bytes(b"x" * 100_000)
    out = run_example("upload.py", testserver.url + "/upload", "--file", str(path))
    assert '"received": 100000' in out and '"content_length": 100000' in out
