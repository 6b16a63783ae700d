# Soak (issue 20): tests/soak/soak.c drives one client at full speed against the test server
# with a random mix of routes, faults, cancels and frees from several threads, checking every
# second that nothing is lost, completed twice or hung, and that RSS and fds stay flat.
#   make soak DURATION=30m   (default 60s; a number of seconds, or with s, m or h)
#   make soak-ci             60 s under the label soak-ci (about 85 s with the build checks)
#   make soak-repro          the engine defects the soak found (fixed), one program each;
#                            soak-ci runs them first
# SOAK_FLAGS passes options on: --h2c, --callback, --skip-stream-cancel, --threads N,
# --inflight K, --seed S (docs/RELIABILITY.md, "Soak"). SOAK_DEPS is what is built first
# (`build`); empty to use an existing library as it is:
#   make soak SOAK_DEPS= LIB_DIR=/path/to/release DURATION=10m
DURATION   ?= 60s
SOAK_FLAGS ?=
SOAK_DEPS  ?= build
SOAK_BIN   := $(BUILD)/soak/soak
SOAK_REPRO := $(patsubst tests/soak/repro/%.c,$(BUILD)/soak/%,$(wildcard tests/soak/repro/*.c))

.PHONY: soak soak-ci soak-repro

$(BUILD)/soak/%: tests/soak/%.c include/httpring.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(C_LINK)

$(BUILD)/soak/%: tests/soak/repro/%.c include/httpring.h tests/c/check.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(C_LINK)

soak: $(SOAK_DEPS) $(SOAK_BIN)
	scripts/with_server.sh -- $(SOAK_BIN) --duration $(DURATION) $(SOAK_FLAGS)

soak-ci: $(SOAK_DEPS) $(SOAK_BIN) $(SOAK_REPRO)
	$(MAKE) --no-print-directory soak-repro SOAK_DEPS=
	scripts/with_server.sh -- $(SOAK_BIN) --duration 60s --label soak-ci $(SOAK_FLAGS)

# The defects the soak found (fixed), one small program each: it exits 1 if its defect is back.
soak-repro: $(SOAK_DEPS) $(SOAK_REPRO)
	@rc=0; for t in $(SOAK_REPRO); do echo "=== $$t"; scripts/with_server.sh -- $$t || rc=1; done; exit $$rc
