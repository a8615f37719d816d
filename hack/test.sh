#!/usr/bin/env bash
# The test command the README gives: format and vet checks, then every test
# with the race detector. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

unformatted=$(gofmt -l $(git ls-files '*.go'))
if [ -n "$unformatted" ]; then
  echo "gofmt would change:"; echo "$unformatted"; exit 1
fi
go vet ./...
go mod tidy -diff
go test -race -count=1 "$@" ./...
