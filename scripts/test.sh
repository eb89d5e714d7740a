#!/usr/bin/env bash
# Runs the whole test suite on a fresh machine: installs what the tests need (Debian
# packages when missing, a virtualenv with the project and its test extras, the OpenClaw
# hook's npm packages), then the Python tests (real PostgreSQL, NATS JetStream, Chromium,
# libvirt test driver, sshd) and the OpenClaw hook's Node tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# What the tests need from the system: a command, file or package to look for, and the
# Debian package that provides it when it is missing. Commands, not packages, for node and
# npm: a machine may have them from another source, and apt then refuses Debian's npm.
needs=(
  "command:chromium chromium"
  "command:pkg-config pkg-config"
  "file:/usr/include/libvirt/libvirt.h libvirt-dev"
  "command:virsh libvirt-clients"
  "dpkg:libvirt-daemon libvirt-daemon"
  "file:/usr/sbin/sshd openssh-server"
  "command:ssh-keygen openssh-client"
  "command:systemd-analyze systemd"
  "command:node nodejs"
  "command:npm npm"
  "command:ip iproute2"
  "command:pgbouncer pgbouncer"
)
missing=()
for need in "${needs[@]}"; do
  check=${need%% *}; package=${need#* }
  case $check in
    command:*) command -v "${check#command:}" >/dev/null 2>&1 && continue ;;
    file:*) [ -e "${check#file:}" ] && continue ;;
    dpkg:*) dpkg -s "${check#dpkg:}" >/dev/null 2>&1 && continue ;;
  esac
  missing+=("$package")
done
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${missing[@]}" >/dev/null
fi

python=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -c constraints.txt -e ".[server,test,dev,libvirt]"

if [ -f hooks/openclaw/package.json ]; then
  npm --prefix hooks/openclaw ci --no-audit --no-fund --loglevel=error
  npm --prefix hooks/openclaw test
fi

# The real agent CLIs (Claude Code, Codex, Gemini CLI, OpenClaw with its own Node 24), pinned,
# from npm, for the tests in tests/real_agents. Each script installs one group and may fail
# where npm is unreachable: the tests then skip, except under CI, where they must run.
shopt -s nullglob
for script in scripts/real-agents/*.sh; do
  bash "$script" || echo "warning: $script failed; the real-agent tests it serves will skip" >&2
done
shopt -u nullglob
if [ -n "${CI:-}" ]; then export AGENTMON_REQUIRE_REAL_AGENTS=1; fi

exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
