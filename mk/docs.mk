# API reference (issue 21): `make docs` writes static HTML to build/docs/:
#   build/docs/index.html    links the two
#   build/docs/python/       the Python binding, from its docstrings (pdoc, from PyPI)
#   build/docs/c/            the C API, from include/httpring.h (doxygen, from Debian)
# No library is needed: importing httpring does not load libhttpring.so (that happens on
# the first client), so this runs without `make build`. The header's comments are
# cbindgen's `//` lines, which doxygen does not read as documentation by itself:
# docs/reference/Doxyfile runs scripts/doxygen_filter.py over it (`//` -> `///`, one group per
# area). Doxygen's warnings (members without a comment) go to build/docs/c/doxygen-warnings.txt.
DOCS_OUT := $(BUILD)/docs
PDOC     ?= $(PYTHON) -m pdoc
DOXYGEN  ?= doxygen

.PHONY: docs docs-python docs-c
docs: docs-python docs-c
	sed 's|@VERSION@|$(VERSION)|g' docs/reference/index.html > $(DOCS_OUT)/index.html
	@echo "docs: $(DOCS_OUT)/index.html"

docs-python:
	@$(PYTHON) -c 'import pdoc' 2>/dev/null || { echo "docs: pdoc missing (make deps, or pip install pdoc)"; exit 1; }
	rm -rf $(DOCS_OUT)/python && mkdir -p $(DOCS_OUT)/python
	PYTHONPATH=$(ROOT)/bindings/python/src $(PDOC) --footer-text 'httpring $(VERSION)' -o $(DOCS_OUT)/python httpring

docs-c:
	@command -v $(DOXYGEN) >/dev/null || { echo "docs: doxygen missing (make deps, or apt-get install doxygen)"; exit 1; }
	rm -rf $(DOCS_OUT)/c && mkdir -p $(DOCS_OUT)/c
	HTTPRING_VERSION=$(VERSION) DOCS_C_OUT=$(DOCS_OUT)/c $(DOXYGEN) docs/reference/Doxyfile

# The code examples of README.md, bindings/python/README.md and bindings/zig/README.md run
# as tests against the test server (scripts/check_readme_examples.py: python blocks run, C
# and Zig ones are compiled, linked to $(LIB) and run; fragments inside a small main; a block
# that cannot run is marked `<!-- not run: reason -->` in the README). ~15 s. Like test-zig,
# it uses the library as it is: `make test` builds it first.
.PHONY: test-readme
TEST_TARGETS += test-readme

test-readme:
	@test -f $(LIB) || { echo "test-readme: $(LIB) missing: run 'make build' first"; exit 1; }
	HTTPRING_LIB=$(LIB) HTTPRING_TESTSERVER=$${HTTPRING_TESTSERVER:-$(TESTSERVER)} CC='$(CC)' CFLAGS='$(CFLAGS)' \
	  ZIG='$(ZIG)' $(PYTHON) scripts/check_readme_examples.py
