#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (Debian
# packages when missing, a virtualenv with the project and its test extras, the OpenClaw
# hook's npm packages), then the Python tests (real PostgreSQL, NATS JetStream, Chromium,
# libvirt test driver, sshd) and the OpenClaw hook's Node tests.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(chromium libvirt-dev pkg-config libvirt-clients libvirt-daemon openssh-server openssh-client nodejs npm)
command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || apt_packages+=(postgresql)
missing=()
for package in "${apt_packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[test,dev,libvirt]"

if [ -f hooks/openclaw/package.json ]; then
  npm --prefix hooks/openclaw ci --no-audit --no-fund --loglevel=error
  npm --prefix hooks/openclaw test
fi

exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
