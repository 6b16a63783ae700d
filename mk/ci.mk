# CI steps beyond `make test` (issue 16); .ci/run calls each, none is in TEST_TARGETS.
#   make lint                 the engine's layer order; cargo fmt --check; cargo clippy -D warnings
#   make test-debug           the Rust tests in the debug profile (debug assertions, overflow checks)
#   make test-c-asan          tests/c with ASan + UBSan against the release library, natively
#   make test-hyper-vendored  hyper's own unit tests on the patched vendor/hyper (scratch copy)
#   make test-stock-hyper     the Rust and C tests against stock hyper from crates.io (no [patch])
# Each ends with one line "TARGET: ..." (the tests' as "TARGET: N passed, N failed").
.PHONY: lint test-debug test-c-asan c-asan-tests test-hyper-vendored test-stock-hyper

lint:
	$(PYTHON) scripts/check_layers.py
	$(CARGO) fmt --check
	$(CARGO) clippy --all-targets --quiet -- -D warnings
	# The library alone, as pip and `cargo build --lib` build it: without the features the
	# dev-dependencies turn on in hyper (its server side) for the tests.
	$(CARGO) check --lib --quiet
	@echo "lint: cargo fmt --check, cargo clippy --all-targets -D warnings, cargo check --lib: clean"

# target/debug, apart from the release build the other steps share.
test-debug:
	@mkdir -p $(BUILD)
	@{ $(CARGO) test -- --test-threads=2; echo $$? >$(BUILD)/test-debug.rc; } 2>&1 | tee $(BUILD)/test-debug.log
	@scripts/test_summary.sh test-debug $(BUILD)/test-debug.log $$(cat $(BUILD)/test-debug.rc)

# The C tests built with AddressSanitizer and UBSan, linked to the release library `make build`
# made (shared with test-c and the benchmarks). The library itself is not instrumented, but
# its malloc/free calls go through ASan's allocator: a leak or a heap overflow of a Rust
# allocation shows too. LeakSanitizer reports nothing by design today (the runtime's threads
# are joined when a client is freed; a client left open at exit stays reachable from its
# threads), so no suppressions file. Any report fails the binary: halt_on_error, UBSan
# without recovery, LSan's non-zero exit; run_c_tests.sh also wants the clean summary line.
# Time limits get a factor 3 (HTTPRING_TEST_SLOW); valgrind stays in test-c. The completion fd
# is the portable self-pipe here (HTTPRING_SIGNAL=pipe), Linux's eventfd in `make test`.
ASAN_BUILD   := $(BUILD)/c-asan
ASAN_CFLAGS  := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
C_ASAN_TESTS := $(patsubst tests/c/%.c,$(ASAN_BUILD)/%,$(wildcard tests/c/test_*.c))
ASAN_ENV     := ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0:detect_stack_use_after_return=1 \
                UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
                HTTPRING_TEST_SLOW=3 VALGRIND=0 C_TESTS_LABEL=test-c-asan HTTPRING_SIGNAL=pipe

$(ASAN_BUILD)/%: tests/c/%.c include/httpring.h tests/c/check.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_CFLAGS) -o $@ $< $(C_LINK)

c-asan-tests: build $(C_ASAN_TESTS)

test-c-asan: c-asan-tests
	$(ASAN_ENV) scripts/run_c_tests.sh $(C_ASAN_TESTS)

# hyper's own unit tests in a scratch copy of vendor/hyper (the patched one).
test-hyper-vendored:
	scripts/test_hyper_vendored.sh

# httpring's Rust and C tests against stock hyper, in a scratch copy without the [patch].
test-stock-hyper:
	scripts/test_stock_hyper.sh
