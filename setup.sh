#!/usr/bin/env bash
# Prepare this machine for EncryptoTel: the virtual environment, and with --test the
# Debian packages of the real peers the tests start (kamailio, baresip, prosody, …).
set -euo pipefail
cd "$(dirname "$0")"

# The exchange's engines, run by the service itself (./run.sh), with the kamailio
# modules its configuration loads (deploy/exchange/kamailio.cfg: tls, http_client, jansson).
EXCHANGE_PACKAGES=(kamailio kamailio-tls-modules kamailio-extra-modules kamailio-utils-modules
  rtpengine-daemon)
# The other real peers the tests start.
TEST_PACKAGES=(baresip prosody radicale espeak-ng sox openssl postgresql-client)

missing_packages() {
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
  done
}

apt_install() {
  echo "installing $*" >&2
  SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  # The packages start their own daemons on the standard ports: the service (and the
  # tests) start their own, so the packaged ones are stopped and not started at boot.
  for service in kamailio rtpengine-daemon prosody; do
    if command -v systemctl >/dev/null && systemctl is-enabled "$service" >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$service" >/dev/null 2>&1 || true
    fi
  done
}

mapfile -t missing < <(missing_packages "${EXCHANGE_PACKAGES[@]}")
if [[ "${1:-}" == "--test" ]]; then
  mapfile -t missing_tests < <(missing_packages "${TEST_PACKAGES[@]}")
  missing+=("${missing_tests[@]}")
  if ((${#missing[@]})); then
    apt_install "${missing[@]}"
  fi
  # The packaged daemons, if running, hold the standard ports: the tests start their own.
  # Only the packaged ones are stopped (never another run's kamailio or prosody).
  for service in kamailio prosody; do
    if [[ -x /etc/init.d/$service ]]; then
      /etc/init.d/$service stop >/dev/null 2>&1 || true
    fi
  done
  REQUIREMENTS=requirements-dev.txt
else
  if ((${#missing[@]})); then
    # Without them the assistant runs chat-only (it says so); PBX_ENABLED=false skips this.
    if [[ "${PBX_ENABLED:-true}" != "false" ]]; then
      apt_install "${missing[@]}" || echo "could not install ${missing[*]}: the exchange stays off" >&2
    fi
  fi
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
