# Python binding (bindings/python): tests run on the library `make build` made, through
# HTTPRING_LIB and PYTHONPATH, so no second Rust build. `pip install ./bindings/python`
# is the user path: it runs cargo itself and ships libhttpring.so inside the package.
PY_DIR := $(ROOT)/bindings/python
PY_ENV := HTTPRING_LIB=$(LIB) HTTPRING_TESTSERVER=$(TESTSERVER) PYTHONPATH=$(PY_DIR)/src

.PHONY: test-python python-install bench-python demo-python
TEST_TARGETS += test-python

test-python: build
	$(PY_ENV) $(PYTHON) -m pytest -q -p no:cacheprovider $(PY_DIR)/tests

python-install:
	$(PYTHON) -m pip install $(PY_DIR)

# AsyncClient vs aiohttp/pyreqwest (when installed), 64 in flight; server on core 0,
# client on core 1.
bench-python: build
	taskset -c 0 scripts/with_server.sh -- taskset -c 1 sh -c '$(PY_ENV) $(PYTHON) $(PY_DIR)/bench/bench_async.py "$$HTTPRING_TEST_URL/hello"'

demo-python: build
	$(PY_ENV) $(PYTHON) examples/python/async_http_demo.py
	$(PY_ENV) $(PYTHON) examples/python/async_web_crawler.py
	$(PY_ENV) $(PYTHON) examples/python/sse_events.py
