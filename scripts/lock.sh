#!/usr/bin/env bash
# Refreshes the hash-pinned lock files from the direct dependencies:
#   requirements.in       -> requirements.txt        (runtime: the website and the mailer)
#   requirements-test.in  -> requirements-test.txt   (runtime + tests and benchmarks)
# Edit a .in file (add, remove or bump a pin), run this, commit the .in and .txt together.
# pip-tools runs from a throwaway environment so it never mixes with the project's .venv.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q --disable-pip-version-check "pip-tools==7.6.2"
compile() {
  "$tools/bin/pip-compile" -q --generate-hashes --allow-unsafe --strip-extras \
    --no-emit-index-url --no-emit-find-links --no-emit-trusted-host \
    --resolver=backtracking --output-file "$2" "$1"
}
compile requirements.in requirements.txt
# The test lock includes the runtime's direct pins and is constrained to the runtime lock's versions.
compile requirements-test.in requirements-test.txt
echo "lock.sh: wrote requirements.txt and requirements-test.txt"
