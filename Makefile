# kdh build.  `make run` and `make check` are the two commands README.md gives;
# both start with `deps`, which installs what is missing (ci/setup-host.sh).

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes
BASE    := -std=gnu11 -D_GNU_SOURCE -Iharness $(WARN)
BUILD   := build

# The reader links only the compression libraries (see DESIGN.md: kdh-dump
# starts in ~1 ms, a glib+libvirt+libguestfs binary needs ~17 ms).
DUMP_LIBS := -lz -llzo2 -lsnappy -lzstd
PKGS      := glib-2.0 gio-2.0 gio-unix-2.0 libvirt libvirt-qemu libguestfs json-glib-1.0 libxml-2.0 libarchive libelf cairo cairo-svg libcrypto

DUMP_SRC    := $(sort $(wildcard harness/dump/*.c))
HARNESS_SRC := $(sort $(foreach d,util kernel image vm guest scenario verdict run report sizing reproduce,$(wildcard harness/$(d)/*.c)))
CLI_SRC     := $(sort $(filter-out harness/cli/kdh_dump_main.c,$(wildcard harness/cli/*.c)))
TEST_SRC    := $(sort $(wildcard tests/unit/test_*.c tests/e2e/test_*.c))
TEST_SUPPORT := $(sort $(wildcard tests/support/*.c))
FUZZ_SRC    := $(sort $(filter-out %_entry.c,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_ENTRY  := $(sort $(wildcard tests/fuzz/*_entry.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

.PHONY: all deps run check check-ci check-unit check-asan check-valgrind check-full analyze fuzz fuzz-run bench soak format clean FORCE
all: $(BUILD)/kdh $(BUILD)/kdh-dump

deps:
	@bash ci/setup-host.sh

# Lazily evaluated, so `make deps` can install pkg-config and the -dev
# packages before anything asks pkg-config.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS)) -lm

$(BUILD)/obj/harness/dump/%.o: harness/dump/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(CFLAGS) $(PKG_CFLAGS) -I$(BUILD) -MMD -MP -c -o $@ $<

$(BUILD)/libkdhdump.a: $(call obj,$(DUMP_SRC))
	@rm -f $@
	ar rcs $@ $^

# The tests' build of the reader: the same sources with the hooks the
# tests' dump generator needs (dump_internal.h, KDH_DUMP_TEST_HOOKS); the
# production library carries none of them.
TEST_HOOKS := -DKDH_DUMP_TEST_HOOKS
$(BUILD)/obj-test/harness/dump/%.o: harness/dump/%.c
	@mkdir -p $(@D)
	$(CC) $(BASE) $(TEST_HOOKS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/libkdhdump-test.a: $(patsubst %.c,$(BUILD)/obj-test/%.o,$(DUMP_SRC))
	@rm -f $@
	ar rcs $@ $^

# kdh --version and every verdict.json's kdh_version: `git describe` of this
# tree ("unknown" outside git; only characters a C string takes as they
# are), looked at on every make but written only when it changes, so a new
# commit rebuilds report/version.c alone and an unchanged tree nothing.
$(BUILD)/version.h: FORCE
	@mkdir -p $(@D)
	@v=$$(git describe --always --dirty --tags 2>/dev/null | tr -cd 'A-Za-z0-9._+/-'); \
	printf '#define KDH_VERSION "%s"\n' "$${v:-unknown}" > $@.tmp; \
	if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(call obj,harness/report/version.c): $(BUILD)/version.h

$(BUILD)/libkdh.a: $(call obj,$(HARNESS_SRC))
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/kdh: $(call obj,$(CLI_SRC)) $(BUILD)/libkdh.a $(BUILD)/libkdhdump.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(DUMP_LIBS)

# Static: libsnappy is C++, and loading libstdc++ at start-up alone costs
# more than a whole dmesg extraction (1.79 ms dynamic, 0.60 ms static).
$(BUILD)/kdh-dump: $(call obj,harness/cli/kdh_dump_main.c harness/cli/dump_cmd.c) $(BUILD)/libkdhdump.a
	$(CC) $(CFLAGS) -static -o $@ $^ $(DUMP_LIBS) -lstdc++ -lm

# One Check runner for every suite: tests/unit/test_foo.c and
# tests/e2e/test_foo.c each define `Suite *foo_suite(void)`.
$(BUILD)/suites.h: $(TEST_SRC) Makefile
	@mkdir -p $(@D)
	@for f in $(TEST_SRC); do b=$${f##*/test_}; echo "SUITE($${b%.c})"; done > $@.tmp && mv $@.tmp $@

$(call obj,tests/runner.c): $(BUILD)/suites.h

# The tests alone also link Check and libyaml (the ci suite reads the CI
# definitions with it, the report suite results.tap's YAML diagnostics);
# lazily evaluated, like PKG_CFLAGS.
TEST_PKGS := check yaml-0.1
$(call obj,$(TEST_SRC) $(TEST_SUPPORT) $(FUZZ_ENTRY)): BASE += -Itests/support -Itests/fuzz $(TEST_HOOKS)
$(call obj,$(TEST_SRC) $(TEST_SUPPORT) $(FUZZ_ENTRY)): PKG_CFLAGS += $(shell pkg-config --cflags $(TEST_PKGS))

$(BUILD)/kdh-tests: $(call obj,tests/runner.c $(TEST_SRC) $(TEST_SUPPORT) $(FUZZ_ENTRY) harness/cli/dump_cmd.c harness/cli/recover.c) $(BUILD)/libkdh.a $(BUILD)/libkdhdump-test.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(shell pkg-config --libs $(TEST_PKGS)) $(DUMP_LIBS)

# libFuzzer targets (tests/fuzz/README.md): fuzz_<name>.c calls the body
# <name>_entry.c defines (entry.h), which the unit tests also link to replay
# tests/fuzz/regressions/<name>/.  The reader's targets compile the reader
# with them; the others link the harness built by clang with
# -fsanitize=fuzzer-no-link in its own folder (BUILD/fuzzlib).  `make fuzz`
# runs each for FUZZ_SECONDS on a corpus kept between runs
# (BUILD/fuzz/corpus-<name>, then the committed seeds); a crash, a leak or a
# timeout fails it and leaves the input as BUILD/fuzz/<target>-crash-<sha1>.
# LeakSanitizer suppressions: tests/fuzz/lsan.supp (each one says why).
FUZZ_SECONDS ?= 12
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_DUMP    := diskdump elf flat
FUZZ_GLIB    := $(filter-out $(FUZZ_DUMP),$(FUZZ_NAMES))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -std=gnu11 -D_GNU_SOURCE -Iharness -Itests/fuzz -g -O1 -fsanitize=fuzzer $(FUZZ_SAN)
FUZZ_LIB     := $(BUILD)/fuzzlib/libkdh.a $(BUILD)/fuzzlib/libkdhdump.a

$(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_DUMP)): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/dump_entry.c tests/fuzz/entry.h $(DUMP_SRC) harness/dump/dump.h
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -o $@ $< tests/fuzz/dump_entry.c $(DUMP_SRC) $(DUMP_LIBS)

FUZZ_GLIB_ENTRY := $(filter-out tests/fuzz/dump_entry.c,$(FUZZ_ENTRY))
$(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_GLIB)): $(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_GLIB_ENTRY) tests/fuzz/entry.h $(FUZZ_LIB)
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(PKG_CFLAGS) -o $@ $< $(FUZZ_GLIB_ENTRY) $(FUZZ_LIB) $(PKG_LIBS) $(DUMP_LIBS)

# The harness for the fuzz targets, then the targets and their runs.
fuzz: deps
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzzlib CC=clang \
		CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_LIB)
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_NAMES))
	@for t in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp:print_suppressions=0 \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-timeout=10 -rss_limit_mb=2048 -artifact_prefix=$(BUILD)/fuzz/fuzz_$$t- \
			$(BUILD)/fuzz/corpus-$$t tests/fuzz/corpus/$$t 2>$(BUILD)/fuzz/fuzz_$$t.log \
			|| { tail -50 $(BUILD)/fuzz/fuzz_$$t.log; \
			     echo "fuzz: $$t failed; input kept: $$(ls $(BUILD)/fuzz/fuzz_$$t-* 2>/dev/null)"; \
			     exit 1; }; \
		grep -E 'stat::number_of_executed_units' $(BUILD)/fuzz/fuzz_$$t.log; \
	done

run: deps all
	$(BUILD)/kdh run scenarios/smoke-sysrq.ini

# Tests tagged `root` (a loop device for the reader's block-device test)
# are left out for a developer who is not root.
NOT_ROOT_TAGS = $(shell [ "$$(id -u)" = 0 ] || echo root)

# Unit tests alone (no VM): quick, for the edit-compile loop.
check-unit: deps $(BUILD)/kdh-tests all
	CK_EXCLUDE_TAGS="e2e slow $(NOT_ROOT_TAGS)" $(BUILD)/kdh-tests

# The reader's suites under memcheck: no error, no leak.  CK_FORK=no runs
# every test in the one process valgrind watches (Check would otherwise
# fork a child per test, unwatched without --trace-children).  The
# suppressions cover only libkdumpfile 0.5.1's own kdump_free (see the file).
# About 2 min here (dump 30 s, dump_compat 15 s, dump_diff 50 s + make deps).
VALGRIND_SUITES := dump dump_compat dump_diff
check-valgrind: deps $(BUILD)/kdh-tests
	@for s in $(VALGRIND_SUITES); do \
		echo "valgrind: $$s"; \
		CK_FORK=no CK_RUN_SUITE=$$s CK_EXCLUDE_TAGS="$(NOT_ROOT_TAGS)" \
		valgrind --tool=memcheck --leak-check=full --error-exitcode=1 \
			--suppressions=tests/valgrind.supp -q $(BUILD)/kdh-tests || exit 1; \
	done

# The unit tests (and the kdh they run) built by clang with AddressSanitizer
# and UndefinedBehaviorSanitizer in their own build folder; any report fails.
# LeakSanitizer suppressions: tests/lsan.supp (each one says why).
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
check-asan: deps
	$(MAKE) --no-print-directory BUILD=$(BUILD)/asan CC=clang CFLAGS="$(ASAN_FLAGS)" \
		$(BUILD)/asan/kdh $(BUILD)/asan/kdh-tests
	KDH_BIN=$(BUILD)/asan/kdh CK_EXCLUDE_TAGS="e2e slow $(NOT_ROOT_TAGS)" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(BUILD)/asan/kdh-tests

# Static analysis: cppcheck over harness/ and tests/ (readdirCalled off:
# glibc's readdir is safe per DIR*, and readdir_r is deprecated), clang-tidy
# (.clang-tidy says which checks and why) over harness/; every finding fails.
# A finding excused in code carries its reason (// NOLINT(check): why).
ANALYZE_SRC  = $(sort $(DUMP_SRC) $(HARNESS_SRC) $(CLI_SRC) harness/cli/kdh_dump_main.c)
ANALYZE_JOBS ?= 2
analyze: deps $(BUILD)/suites.h $(BUILD)/version.h
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--library=gtk --library=posix --inline-suppr --std=c11 -D_GNU_SOURCE \
		-Iharness -Itests/support -I$(BUILD) --suppress=missingIncludeSystem \
		--suppress=readdirCalled harness tests/unit tests/e2e tests/support tests/runner.c
	@echo "clang-tidy: $(words $(ANALYZE_SRC)) files"
	@printf '%s\n' $(ANALYZE_SRC) | xargs -P$(ANALYZE_JOBS) -I{} \
		clang-tidy --quiet {} -- $(BASE) $(PKG_CFLAGS) -I$(BUILD) 2>/dev/null

# The CI definitions users copy (ci/github, ci/gitlab): yamllint with the
# tree's .yamllint (warnings fail too), then the ci suite, which reads them
# with libyaml and checks their shape (tests/unit/test_ci.c).  Debian 12
# packages no actionlint.
CI_YAML := $(sort $(wildcard ci/*/*.yml))
check-ci: deps $(BUILD)/kdh-tests
	yamllint --strict -c .yamllint $(CI_YAML)
	CK_RUN_SUITE=ci $(BUILD)/kdh-tests

# Everything `make check` runs; the Check runner's summary line comes last.
# Check's XML log (BUILD/check.xml) keeps each test's duration.  The fuzz
# runs, memcheck and the static analysis are mostly one process each and
# keep no clock that a busy machine would upset (memcheck runs without
# Check's fork, so without its timeouts): they share the cores, each one's
# output kept together.  The sanitized unit tests have timeouts, and run
# alone.
check: deps all $(BUILD)/kdh-tests
	@$(MAKE) --no-print-directory -j2 --output-sync=target fuzz check-valgrind analyze
	@$(MAKE) --no-print-directory check-asan check-ci
	CK_XML_LOG_FILE_NAME=$(BUILD)/check.xml CK_EXCLUDE_TAGS="slow $(NOT_ROOT_TAGS)" \
		$(BUILD)/kdh-tests

# The slow suites (kernel builds, full matrices) on top of everything above.
check-full: check
	CK_RUN_TAGS=slow $(BUILD)/kdh-tests

# bench/retrieve.sh's program: retrieval batches timed against their size.
$(BUILD)/bench-retrieve: $(call obj,bench/retrieve.c) $(BUILD)/libkdh.a $(BUILD)/libkdhdump.a
	$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS) $(DUMP_LIBS)

bench: deps all $(BUILD)/bench-retrieve
	@for b in $(filter-out bench/soak.sh,$(wildcard bench/*.sh)); do echo "== $$b"; bash $$b || exit 1; done

# A hundred real cases unattended, kdh's memory and descriptors read from
# /proc as they run (bench/soak.sh; CASES=, JOBS=).
soak: deps all
	bash bench/soak.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD)/obj $(BUILD)/obj-test -name '*.d' 2>/dev/null)
