#!/usr/bin/env bash
# Installs what the project needs, once: a virtual environment at .venv from the hash-pinned
# lock files (requirements.txt, requirements-test.txt; refresh them with scripts/lock.sh),
# and (for the tests) Debian packages when missing. Safe to run again.
#   bash scripts/setup.sh          runtime only (build the site, run the mailer)
#   bash scripts/setup.sh test     also what the tests need (Chromium, linkchecker, poppler)
set -euo pipefail
cd "$(dirname "$0")/.."

want=requirements.txt
[ "${1:-}" = test ] && want=requirements-test.txt

if [ "${1:-}" = test ]; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium chromium-driver)
  command -v linkchecker >/dev/null || missing+=(linkchecker)
  command -v pdftotext >/dev/null || missing+=(poppler-utils)
  command -v java >/dev/null || missing+=(default-jre-headless)
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      echo "setup: please install these Debian packages first: ${missing[*]}" >&2
      exit 1
    fi
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
# Reinstall only when the pinned requirements change (a stamp holds their hash).
stamp=.venv/.installed-$(basename "$want" .txt)
hash=$(cat requirements*.txt | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$hash" ]; then
  echo "setup: installing Python packages from $want into .venv"
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$want"
  echo "$hash" > "$stamp"
fi
