#!/usr/bin/env bash
# Installs the pinned Claude Code and Codex CLIs for tests/real_agents/{claude,codex}, one
# npm folder per <package>@<version> under $AGENTMON_REAL_AGENTS_DIR (default
# ~/.cache/agentmon-real-agents). Quick when already installed: the installed version is
# checked first. Nothing is downloaded when the tests run.
set -euo pipefail
home=${AGENTMON_REAL_AGENTS_DIR:-$HOME/.cache/agentmon-real-agents}

install() { # install <folder> <npm package> <version>
  local folder=$home/$1 package=$2 version=$3
  local manifest=$folder/node_modules/$package/package.json
  if [ -f "$manifest" ] && node -e "process.exit(require('$manifest').version === '$version' ? 0 : 1)"; then
    return 0
  fi
  mkdir -p "$folder"
  npm install --prefix "$folder" "$package@$version" --no-audit --no-fund --loglevel=error
}

install claude-code@2.1.197 @anthropic-ai/claude-code 2.1.197
install codex@0.171.0 @openai/codex 0.171.0
