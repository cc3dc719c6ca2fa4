#!/usr/bin/env bash
# Make sure Debian's chromium is there for the browser tests (Playwright drives it; we never
# run `playwright install`). Installs it with apt-get when missing and we are root, as in CI;
# otherwise says plainly that browser tests will not run and why.
set -u
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests..."
  export DEBIAN_FRONTEND=noninteractive
  (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; }) \
    && { echo "chromium installed: $(/usr/bin/chromium --version 2>/dev/null)"; exit 0; }
  echo "WARNING: apt-get could not install chromium; browser tests will not run." >&2
  exit 0
fi
echo "NOTE: /usr/bin/chromium is missing and this user cannot apt-get install it (needs root)." >&2
echo "      Browser tests will be skipped. Install it with: sudo apt-get install chromium" >&2
exit 0
