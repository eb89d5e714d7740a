#!/usr/bin/env bash
# Installs Gemini CLI and OpenClaw (with the Node 24 it needs) at pinned versions from npm,
# and Hermes Agent from PyPI, for tests/real_agents/{gemini,openclaw,hermes}. Idempotent: an install already at its version is
# left alone. OpenClaw needs Node >= 24.16: under an older node, npm silently resolves
# `openclaw` to an empty 0.0.1 placeholder, so the real version is checked after install.
set -euo pipefail
AGENTS_HOME=${AGENTMON_REAL_AGENTS_DIR:-$HOME/.cache/agentmon-real-agents}
GEMINI_VERSION=0.61.0
OPENCLAW_VERSION=2026.9.6
NODE24_VERSION=24.16.0

installed_version() { # <install folder> <package>: the version npm put there, or nothing
  local manifest="$AGENTS_HOME/$1/node_modules/$2/package.json"
  [ -f "$manifest" ] && node -p "require('$manifest').version" 2>/dev/null || true
}

install_pinned() { # <install folder> <package>@<version>
  local folder=$1 spec=$2 package=${2%@*} version=${2##*@}
  if [ "$(installed_version "$folder" "$package")" = "$version" ]; then return 0; fi
  mkdir -p "$AGENTS_HOME/$folder"
  npm install --prefix "$AGENTS_HOME/$folder" "$spec" --no-audit --no-fund --loglevel=error
  local got; got=$(installed_version "$folder" "$package")
  if [ "$got" != "$version" ]; then
    echo "$spec: npm installed version '$got'" >&2
    return 1
  fi
}

install_pinned "gemini-cli@$GEMINI_VERSION" "@google/gemini-cli@$GEMINI_VERSION"

# OpenClaw: Node 24 first, then openclaw installed with that node first on PATH so npm's
# engine resolution sees Node 24 and fetches the real package.
openclaw_dir="openclaw@$OPENCLAW_VERSION"
install_pinned "$openclaw_dir" "node@$NODE24_VERSION"
node24_bin="$AGENTS_HOME/$openclaw_dir/node_modules/node/bin"
PATH="$node24_bin:$PATH" install_pinned "$openclaw_dir" "openclaw@$OPENCLAW_VERSION"

# Hermes Agent, from PyPI, in a virtualenv of its own; its command is linked where the tests
# look for every agent's binary (`<install>/node_modules/.bin/`).
HERMES_VERSION=0.19.0
hermes_dir="$AGENTS_HOME/hermes-agent@$HERMES_VERSION"
hermes_installed=$("$hermes_dir/venv/bin/python" -c \
  "import importlib.metadata as m; print(m.version('hermes-agent'))" 2>/dev/null || true)
if [ "$hermes_installed" != "$HERMES_VERSION" ]; then
  python3 -m venv "$hermes_dir/venv"
  "$hermes_dir/venv/bin/python" -m pip install -q "hermes-agent==$HERMES_VERSION"
fi
mkdir -p "$hermes_dir/node_modules/.bin"
ln -sf "$hermes_dir/venv/bin/hermes" "$hermes_dir/node_modules/.bin/hermes"
