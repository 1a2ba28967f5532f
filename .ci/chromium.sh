#!/usr/bin/env bash
# Installs Debian's Chromium (/usr/bin/chromium) for the browser tests (the HTML report and the dashboard).
# Idempotent and quick when it is there. Not root, or no package access: says so and exits 1; the browser
# tests then skip naming this script (an error under CI=true, tests/servers.py).
set -uo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "note: Chromium is missing and this is not root; the browser tests will skip: run \`sudo .ci/chromium.sh\`" >&2
  exit 1
fi
echo "installing Chromium for the browser tests (apt-get, about a minute)"
if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      chromium >/dev/null; }; then
  echo "note: could not install Chromium (apt-get failed); the browser tests will skip" >&2
  exit 1
fi
