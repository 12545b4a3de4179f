#!/usr/bin/env bash
# Prepare this machine for EncryptoTel: the virtual environment, and with --test the
# Debian packages of the real peers the tests start (kamailio, baresip, prosody, …).
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(kamailio baresip prosody espeak-ng sox openssl postgresql-client)

if [[ "${1:-}" == "--test" ]]; then
  missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if ((${#missing[@]})); then
    echo "installing ${missing[*]}" >&2
    SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  # The packages start their own daemons on the standard ports; the tests start their own.
  for service in kamailio prosody; do
    if pgrep -x "$service" >/dev/null && [[ -x /etc/init.d/$service ]]; then
      /etc/init.d/$service stop >/dev/null 2>&1 || pkill -x "$service" || true
    fi
  done
  REQUIREMENTS=requirements-dev.txt
else
  REQUIREMENTS=requirements.txt
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(cat "$REQUIREMENTS" requirements.txt | sha256sum | cut -c1-16)-$REQUIREMENTS
if [[ ! -f "$stamp" ]]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -r "$REQUIREMENTS"
  touch "$stamp"
fi
