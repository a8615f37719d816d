# Thin wrappers; each target calls a script in hack/ or a go command.
.PHONY: build test bench spec-coverage

build:
	go build -trimpath -ldflags='-s -w' -o bin/batchd ./cmd/batchd
	go build -trimpath -ldflags='-s -w' -o bin/batchd-pod ./cmd/batchd-pod

test:
	hack/test.sh

bench:
	go run ./bench api

# Regenerate docs/spec-coverage.md after adding tests that name spec IDs.
spec-coverage:
	go run ./hack/speccoverage
