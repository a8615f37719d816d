# Thin wrappers; each target calls a script in hack/ or a go command.
.PHONY: build test bench spec-coverage

# batchd-pod, the pod helper, is C through cgo: with musl where musl-gcc is
# installed, else glibc (package internal/helperbuild says why).
build:
	go build -trimpath -ldflags='-s -w' -o bin/batchd ./cmd/batchd
	go run ./hack/buildhelper -o bin/batchd-pod -- -trimpath -ldflags='-s -w'

test:
	hack/test.sh

bench:
	go run ./bench api

# Regenerate docs/spec-coverage.md after adding tests that name spec IDs.
spec-coverage:
	go run ./hack/speccoverage
