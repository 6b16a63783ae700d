#!/usr/bin/env python3
"""Doxygen's INPUT_FILTER for include/httpring.h (docs/reference/Doxyfile; `make docs`).

cbindgen writes the Rust doc comments as plain `//` lines (documentation_style = "c99"),
which doxygen ignores: only `///`, `//!`, `/** */` are documentation to it. This prints the
header with each comment line that starts a line turned into `///` (a trailing comment such
as `#endif // __cplusplus` stays), the Rust docs' `# Safety` headings turned into
paragraphs, the opening block comment made the file's description, and each function put in
a group by its name (httpring_config_* -> "Configuration", ...), so the reference has one
page per area instead of one page of 124 functions. The header itself is not changed.
"""

import re
import sys

# (name prefix, group id) in the order tried; the groups are defined in docs/reference/groups.dox.
GROUPS = [
    ("httpring_client_cookie", "cookies"),
    ("httpring_config_set_cookie_jar", "cookies"),
    ("httpring_config_", "config"),
    ("httpring_client_", "client"),
    ("httpring_request_", "request"),
    ("httpring_multipart_", "request"),
    ("httpring_handles_", "handle"),
    ("httpring_handle_", "handle"),
    ("httpring_response_", "response"),
    ("httpring_", "misc"),
]

DOC = re.compile(r"^(\s*)//(?![/!])(.*)$")
FUNC = re.compile(r"\b(httpring_\w+)\s*\(")


def group_of(name: str) -> str:
    return next(g for prefix, g in GROUPS if name.startswith(prefix))


def main() -> None:
    text = open(sys.argv[1], encoding="utf-8").read()
    # The header's first block comment describes the file.
    if text.startswith("/*\n"):
        text = "/**\n * \\file\n" + text[len("/*\n"):]
    out = []
    pending_doc = False  # inside a run of doc lines, before the declaration they document
    for line in text.split("\n"):
        m = DOC.match(line)
        if m:
            indent, rest = m.groups()
            heading = re.match(r"\s*#+\s+(.*)$", rest)
            if heading:
                rest = " \\par " + heading.group(1)
            out.append(f"{indent}///{rest}")
            pending_doc = True
            continue
        if pending_doc and not line.startswith(" ") and line.strip():
            f = FUNC.search(line)
            if f and not line.startswith(("typedef", "#")):
                # A function declaration at file scope: add it to its group.
                out.append(f"/// \\ingroup {group_of(f.group(1))}")
        if line.strip():
            pending_doc = False
        out.append(line)
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
