# The Zig binding (bindings/zig): its tests, and the Zig examples against the test server.
# Zig comes from the `ziglang` PyPI package (.ci/requirements.txt); its first build compiles
# the build runner and std (a few minutes on 2 cores), later ones hit the caches
# (bindings/zig/.zig-cache and the user's global Zig cache).
ZIG       ?= $(PYTHON) -m ziglang
ZIG_FLAGS ?= -Dlib-dir=$(LIB_DIR) -Dinclude-dir=$(ROOT)/include
# Zig finds its global cache through HOME; without one (a bare CI environment) keep it in build/.
ifeq ($(HOME),)
export ZIG_GLOBAL_CACHE_DIR ?= $(BUILD)/zig-global-cache
endif
WITH_SERVER = HTTPRING_TESTSERVER=$${HTTPRING_TESTSERVER:-$(TESTSERVER)} scripts/with_server.sh

.PHONY: test-zig zig-examples zig-demo
TEST_TARGETS += test-zig

test-zig:
	@test -f $(LIB) || { echo "test-zig: $(LIB) missing: run 'make build' first"; exit 1; }
	$(WITH_SERVER) -- env ZIG="$(ZIG)" scripts/run_zig_tests.sh $(ZIG_FLAGS)

# Builds the examples into bindings/zig/zig-out/bin.
zig-examples:
	cd bindings/zig && $(ZIG) build $(ZIG_FLAGS)

# The Zig crawler, async demo, SSE reader and upload against the local test site (like
# `make demo` for C).
zig-demo:
	$(WITH_SERVER) --delay-ms $(DEMO_DELAY) --pages 60 -- sh -c 'cd bindings/zig && \
	  $(ZIG) build demo $(ZIG_FLAGS) && $(ZIG) build crawler $(ZIG_FLAGS) -- "$$HTTPRING_TEST_URL/site/0" && \
	  $(ZIG) build sse $(ZIG_FLAGS) && $(ZIG) build upload $(ZIG_FLAGS)'

.PHONY: clean-zig
clean: clean-zig
clean-zig:
	rm -rf bindings/zig/.zig-cache bindings/zig/zig-out
