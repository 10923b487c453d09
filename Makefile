# certdesk - the commands people type. The build itself is Meson + Ninja.
#   make          build (the program is build/certdesk)
#   make check    install what is missing, build with sanitizers, run every test
#   make demo     install what is missing, build, and show certdesk at work
#   make bench    benchmarks (not part of check); BENCH_MASS=1000 adds bench/mass-reissue.sh
#   make format   clang-format every C file

BUILD       ?= build
CHECK_BUILD ?= build-check
FUZZ_BUILD  ?= build-fuzz
C_FILES      = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find src tests bench -name '*.[ch]')

.PHONY: all build check demo bench format format-check deps clean

all: build

deps:
	@scripts/install-deps

build:
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=debugoptimized >/dev/null
	@ninja -C $(BUILD) >/dev/null
	@echo "built $(BUILD)/certdesk"

check: deps
	@scripts/check

demo: deps build
	@scripts/demo

bench: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --buildtype=release >/dev/null
	@ninja -C $(BUILD) >/dev/null
	@bench/import.sh
	@if [ -n "$(BENCH_MASS)" ]; then CERTDESK=$(BUILD)/certdesk bench/mass-reissue.sh $(BENCH_MASS); fi

format:
	@clang-format -i $(C_FILES)

format-check:
	@clang-format --dry-run --Werror $(C_FILES)

clean:
	rm -rf $(BUILD) $(CHECK_BUILD) $(FUZZ_BUILD)
