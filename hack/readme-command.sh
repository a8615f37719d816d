#!/usr/bin/env bash
# Prints command N (1 or 2) of the README's first code block, without its
# trailing comment, so that CI runs the README's commands exactly as a
# newcomer reads them.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:?usage: hack/readme-command.sh N}
awk -v n="$n" '
  /^```sh$/ && !seen { inblock = 1; seen = 1; next }
  inblock && /^```/ { exit }
  inblock { if (++i == n) { sub(/[[:space:]]+#.*$/, ""); print; found = 1; exit } }
  END { if (!found) exit 1 }
' README.md
