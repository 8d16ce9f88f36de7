# SwiftUV: `make demo` and `make test` work on a fresh Debian machine with Swift.
SWIFT ?= swift
# Warnings are errors: the package builds with zero warnings.
STRICT = -Xswiftc -warnings-as-errors

.PHONY: deps build test test-plain test-readme test-asan test-fuzz test-libuv-suite fuzz sanitize tsan demo coverage docs bench bench-quick libuv-suite libuv-suite-known-failures clean

deps:
	@if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists libuv; then \
		echo "installing libuv1-dev (and pkg-config)"; \
		(apt-get install -y libuv1-dev pkg-config || (apt-get update && apt-get install -y libuv1-dev pkg-config)); \
	fi
	@echo "libuv $$(pkg-config --modversion libuv)"

# The second build links libUVNative.so (libuv's C ABI over the native
# engine): a dynamic library product is linked only when asked for by name.
build: deps
	$(SWIFT) build $(STRICT)
	$(SWIFT) build $(STRICT) --product UVNative

test: deps build test-plain test-readme test-fuzz test-libuv-suite test-asan

# Each run (its build included) is stopped after 25 minutes, with every
# thread's stack printed, if a test hangs (a plain run takes under a minute).
WATCHDOG = bash scripts/watchdog.sh 1500

test-plain:
	@echo "== every test, both backends (a first build takes a few minutes; the tests about a minute)"
	$(WATCHDOG) $(SWIFT) test $(STRICT) --disable-xctest

# The README's Swift examples in a package of their own that depends on this
# one by path and imports Foundation too: they build with zero warnings, and
# the quick start and the echo print what the README says.
test-readme: deps
	@echo "== the README's examples, built and run as a user's package (about a minute)"
	$(WATCHDOG) bash scripts/readme-check.sh

# The differential tester (README, "Random programs on both backends"):
# random SwiftUV programs run on libuv and on the native engine and compared.
# `make test` runs a short fixed campaign that must find nothing; `make fuzz`
# a long one, from FUZZ_START until FUZZ_COMPARED programs were compared (not
# discarded), FUZZ_JOBS at once, its report in fuzz-report.txt.
UVDEMO = $$($(SWIFT) build --show-bin-path)/uvdemo
FUZZ_START ?= 0
FUZZ_COMPARED ?= 20000
FUZZ_JOBS ?= 2

test-fuzz: build
	@echo "== 300 random programs on both backends (about a minute)"
	$(WATCHDOG) $(UVDEMO) fuzz --start 0 --count 300 --jobs 2

fuzz: build
	$(UVDEMO) fuzz --start $(FUZZ_START) --compared $(FUZZ_COMPARED) --jobs $(FUZZ_JOBS) --report fuzz-report.txt

# The bad-input tests ask for more memory than exists and expect ENOMEM:
# the sanitizers' allocators must return NULL then, as malloc does, instead
# of stopping the process.
# The sanitizer builds link with the toolchain's lld when it has one: gold
# prints a warning for every sanitizer symbol it cannot export (about 280).
LLD = $(shell command -v ld.lld >/dev/null 2>&1 && echo -Xswiftc -use-ld=lld)

test-asan: deps
	@echo "== every test again under AddressSanitizer and LeakSanitizer (a build of its own: a few minutes)"
	$(WATCHDOG) env ASAN_OPTIONS=allocator_may_return_null=1 $(SWIFT) test $(STRICT) $(LLD) --disable-xctest --sanitize=address --scratch-path .build-asan

tsan: deps
	$(WATCHDOG) env TSAN_OPTIONS=allocator_may_return_null=1 $(SWIFT) test $(STRICT) $(LLD) --disable-xctest --sanitize=thread --scratch-path .build-tsan

sanitize: test-asan tsan

# Every UV_EXTERN of the installed uv.h: called by SwiftUV, or skipped with a reason.
coverage: deps
	python3 scripts/coverage.py

# The DocC documentation of the SwiftUV library, offline: the DocC plugin is
# a dependency only when SWIFTUV_DOCS is set (Package.swift's last lines).
docs: deps
	SWIFTUV_DOCS=1 $(SWIFT) package --scratch-path .build-docs --allow-writing-to-directory .build-docs \
		generate-documentation --target SwiftUV --output-path .build-docs/SwiftUV.doccarchive --transform-for-static-hosting
	@echo "documentation: .build-docs/SwiftUV.doccarchive (a static site: serve the folder, or 'docc preview')"

demo: deps
	$(SWIFT) build $(STRICT) --product uvdemo
	$(SWIFT) run --skip-build uvdemo compare book

# Benchmarks (Benchmarks/WORKLOADS.md): C on the system libuv, SwiftUV on both
# backends, Node.js, SwiftNIO; release builds, contenders interleaved; tables
# on stdout, JSON and SVG in Benchmarks/results/. Not part of `make test`.
bench: deps
	python3 Benchmarks/run.py

bench-quick: deps
	python3 Benchmarks/run.py --quick

# libuv's own test suite (Debian's source package of the installed libuv1) on
# system libuv and on the native engine's C ABI (the UVNative product):
# scripts/libuv-suite/README.md. Report in .build/libuv-suite/report.md; fails
# when the results differ from Tests/LibuvSuite/known-failures.txt.
# LIBUV_ABI=PATH uses that library instead of building UVNative
# (LIBUV_ABI=throwaway: a stand-in exporting only uv_version*).
LIBUV_ABI ?=
LIBUV_SUITE = python3 scripts/libuv-suite/suite.py --abi $(or $(LIBUV_ABI),.build/debug/libUVNative.so)

# In `make test`: the run above, gated on the known failures (the library
# was built by `build`).
test-libuv-suite: build
	@echo "== libuv's own test suite (Debian's source package) on system libuv and on the native engine's C ABI (about 2 minutes)"
	$(WATCHDOG) $(LIBUV_SUITE) --check

libuv-suite: deps
	@[ -n "$(LIBUV_ABI)" ] || $(SWIFT) build $(STRICT) --product UVNative
	$(LIBUV_SUITE) --check

# The same run, then Tests/LibuvSuite/known-failures.txt rewritten from it.
libuv-suite-known-failures: deps
	@[ -n "$(LIBUV_ABI)" ] || $(SWIFT) build $(STRICT) --product UVNative
	$(LIBUV_SUITE) --write-known-failures

clean:
	rm -rf .build .build-asan .build-tsan .build-docs .build-readme Benchmarks/.build-bench Benchmarks/swiftuv/.build Benchmarks/nio/.build
