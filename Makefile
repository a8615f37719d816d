# Thin wrappers; each target calls a script in hack/ or a go command.
.PHONY: build test bench spec-coverage

# batchd-pod is C linked statically through cgo (package native) where
# glibc's static library is installed, else dynamically (-tags
# batchd_dynamic); without a C compiler Go builds the pure-Go helper.
HELPER_TAGS := $(if $(wildcard $(shell cc -print-file-name=libc.a 2>/dev/null)),,-tags batchd_dynamic)

build:
	go build -trimpath -ldflags='-s -w' -o bin/batchd ./cmd/batchd
	go build -trimpath -ldflags='-s -w' $(HELPER_TAGS) -o bin/batchd-pod ./cmd/batchd-pod

test:
	hack/test.sh

bench:
	go run ./bench api

# Regenerate docs/spec-coverage.md after adding tests that name spec IDs.
spec-coverage:
	go run ./hack/speccoverage
