#!/usr/bin/env bash
# Runs the whole test suite (installing what it needs first). Extra arguments go to pytest.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test || exit 1
export NO_MKDOCS_2_WARNING=1
# The provider tests check requests against the providers' OpenAPI specs in ../shared/specs.
# A local clone of a clone finds them beside the repository it was cloned from.
if [ -z "${SPECS_DIR:-}" ] && [ ! -d ../shared/specs ]; then
  origin=$(git remote get-url origin 2>/dev/null || true)
  if [ -n "$origin" ] && [ -d "$origin/../shared/specs" ]; then
    export SPECS_DIR="$(cd "$origin/../shared/specs" && pwd)"
  else
    echo "test.sh: no ../shared/specs beside the repository and SPECS_DIR is not set:" \
         "the provider tests will fail" >&2
  fi
fi
.venv/bin/python -m pytest "$@"
status=$?
if [ $status -eq 5 ]; then
  echo "test.sh: pytest collected no tests: the setup is broken" >&2
  exit 1
fi
exit $status
