# ThreadSanitizer (issue 20): the engine built with nightly's `-Zsanitizer=thread` (std
# rebuilt instrumented, `-Zbuild-std`, so its locks and atomics are seen), then
#   - every Rust test (unit and tests/*.rs), and
#   - every C test in tests/c, compiled with gcc -fsanitize=thread against the instrumented
#     library and linked with nightly's own TSan runtime (gcc 12's libtsan lacks the
#     __tsan_mem* entry points newer LLVM emits), each against its own test server.
# Any report fails the run (TSan exits 66). Not in `.ci/run`: a cold build takes ~10 min and
# the run ~10 min on 2 cores (docs/RELIABILITY.md, "ThreadSanitizer", has the last figures).
# Skipped, with why: the fork tests (TSan cannot start threads after a multi-threaded
# fork), the 1 GiB decompression bomb (minutes when instrumented) and the test that needs
# a producer to outrun the server (timing, not a race).
#   make tsan        both;   make tsan-rust / make tsan-c   one of them
TSAN_TRIPLE    := x86_64-unknown-linux-gnu
TSAN_TARGET    := $(ROOT)/target/tsan
TSAN_LIBDIR    := $(TSAN_TARGET)/$(TSAN_TRIPLE)/debug
TSAN_CARGO     := RUSTFLAGS="-Zsanitizer=thread -Cdebuginfo=1" cargo +nightly
TSAN_CARGO_ARGS := -Zbuild-std --target $(TSAN_TRIPLE) --target-dir $(TSAN_TARGET)
TSAN_SKIP      := --skip a_bomb_fails_at_the_decoded_limit \
                  --skip upload::a_written_body_is_held_back_by_a_slow_server_and_arrives_whole \
                  --skip a_forked_child
TSAN_OPTIONS_  := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(ROOT)/tests/tsan.supp" HTTPRING_TEST_SLOW=5
TSAN_C_BUILD   := $(BUILD)/c-tsan
TSAN_C_TESTS   := $(patsubst tests/c/%.c,$(TSAN_C_BUILD)/%,$(wildcard tests/c/test_*.c))

.PHONY: tsan tsan-rust tsan-c tsan-tool tsan-lib

tsan: tsan-rust tsan-c

tsan-tool:
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@rustup component list --toolchain nightly --installed | grep -q '^rust-src' || \
	  rustup component add rust-src --toolchain nightly

tsan-rust: tsan-tool
	$(TSAN_OPTIONS_) $(TSAN_CARGO) test $(TSAN_CARGO_ARGS) --tests -- --test-threads=2 $(TSAN_SKIP)
	@echo "tsan-rust: no report"

tsan-lib: tsan-tool
	$(TSAN_CARGO) build $(TSAN_CARGO_ARGS) --lib
	@ln -sf libhttpring.so $(TSAN_LIBDIR)/libhttpring.so.0

$(TSAN_C_BUILD)/%: tests/c/%.c include/httpring.h tests/c/check.h tsan-lib
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O1 -fsanitize=thread -I$(ROOT)/include -c -o $@.o $<
	$(CC) -o $@ $@.o -Wl,--whole-archive \
	  $$(rustc +nightly --print target-libdir --target $(TSAN_TRIPLE))/librustc-nightly_rt.tsan.a \
	  -Wl,--no-whole-archive -rdynamic -L$(TSAN_LIBDIR) -Wl,-rpath,$(TSAN_LIBDIR) -lhttpring \
	  -lpthread -ldl -lm -lrt

tsan-c: $(TSAN_C_TESTS) $(TESTSERVER)
	$(TSAN_OPTIONS_) VALGRIND=0 C_TESTS_LABEL=tsan-c HTTPRING_TESTSERVER=$(TESTSERVER) \
	  scripts/run_c_tests.sh $(TSAN_C_TESTS)
