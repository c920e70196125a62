#!/usr/bin/env bash
# The main job on the demo alliance: build the website into site/, then run the newsletter
# flow (import the demo subscribers, preview the next edition, send it to outbox/).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export NO_MKDOCS_2_WARNING=1
py=.venv/bin/python

echo "== website"
$py build.py build

echo "== newsletter"
if [ -z "${MAILER_SECRET:-}" ]; then
  # The secret signs unsubscribe links. For a real send, set MAILER_SECRET yourself and keep
  # it; this one lives only for this run and is never written anywhere.
  MAILER_SECRET=$($py -c 'import secrets; print(secrets.token_urlsafe(32))')
  export MAILER_SECRET
  echo "(MAILER_SECRET is not set: using a throwaway one for this demo run)"
fi
edition=2026-11-23-winter
$py -m mailer subscribers import demo/subscribers.csv || true   # two planted bad rows are reported
$py -m mailer preview "$edition"
$py -m mailer send "$edition"
$py -m mailer status "$edition"
echo
echo "Open site/index.html in a browser (or: $py build.py serve, then http://127.0.0.1:8000/)."
echo "The emails are in outbox/$edition/, one .eml per reader; previews in preview/$edition/."
