#!/usr/bin/env python3
"""Fails if an engine layer uses a layer above it. The order is the one docs/ARCHITECTURE.md
draws (bottom first); a module may use itself and anything earlier in the list."""
import pathlib
import re
import sys

ORDER = ["error", "config", "transport", "request", "policy", "pool", "dispatch", "client", "ffi"]
src = pathlib.Path(__file__).resolve().parent.parent / "src"
bad = []
for path in sorted(src.rglob("*.rs")):
    rel = path.relative_to(src)
    layer = rel.parts[0].removesuffix(".rs")
    if layer == "lib":
        continue
    rank = ORDER.index(layer)
    text = path.read_text()
    for n, line in enumerate(text.splitlines(), 1):
        for used in re.findall(r"crate::([a-z_]+)", line):
            if used in ORDER and ORDER.index(used) > rank:
                bad.append(f"src/{rel}:{n}: {layer} uses {used}, a layer above it: {line.strip()}")
for b in bad:
    print(b)
print(f"layers: {'ok' if not bad else f'{len(bad)} upward uses'} ({' < '.join(ORDER)})")
sys.exit(1 if bad else 0)
