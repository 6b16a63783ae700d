"""The package's type hints hold (mypy --strict), including for a typical caller."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "src")

CALLER = '''
import asyncio
import httpring

async def main() -> int:
    async with httpring.AsyncClient(timeout=httpring.Timeout(connect=1, read=2)) as c:
        r: httpring.Response = await c.post("http://127.0.0.1:1/", json={"a": 1}, params={"q": "x"})
        rs = await asyncio.gather(*(c.get(u) for u in ["http://127.0.0.1:1/"]))
        return r.status_code + len(rs) + len(r.headers.get_list("set-cookie"))

with httpring.Client(base_url="http://127.0.0.1:1") as client:
    h: httpring.Handle = client.submit("GET", "/x", user_data=1)
    done: list[httpring.Completion] = client.drain()
    text: str = client.get("/y", headers={"a": "b"}).text
'''


def test_mypy_strict(tmp_path):
    pytest.importorskip("mypy")
    caller = tmp_path / "caller.py"
    caller.write_text(CALLER)
    env = dict(os.environ, MYPYPATH=os.path.abspath(SRC))
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
         os.path.join(os.path.abspath(SRC), "httpring"), str(caller)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )
    assert out.returncode == 0, out.stdout + out.stderr
