#!/usr/bin/env bash
# Starts every distributed service as a background process against local PostgreSQL and
# NATS JetStream; logs and pid files go to .run/. Stop them with scripts/stop-all.sh.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
mkdir -p .run
[ -x .venv/bin/agentmon ] || { python3 -m venv .venv && .venv/bin/pip install -q -c constraints.txt -e ".[server]"; }

export DATABASE_URL=${DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/agentmon}
export NATS_URL=${NATS_URL:-nats://127.0.0.1:4222}
export AGENTMON_QUERY_BASE=${AGENTMON_QUERY_BASE:-http://127.0.0.1:8081}
export AGENTMON_INGEST_URL=${AGENTMON_INGEST_URL:-http://127.0.0.1:8080}

database=${DATABASE_URL##*/}
if command -v psql >/dev/null && ! psql "${DATABASE_URL%/*}/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname='$database'" | grep -q 1; then
  psql "${DATABASE_URL%/*}/postgres" -c "CREATE DATABASE \"$database\"" >/dev/null
fi
.venv/bin/agentmon migrate

start() {
  local name=$1; shift
  if [ -f ".run/$name.pid" ] && kill -0 "$(cat ".run/$name.pid")" 2>/dev/null; then
    echo "$name already running (pid $(cat ".run/$name.pid"))"; return
  fi
  nohup .venv/bin/agentmon "$@" >".run/$name.log" 2>&1 &
  echo $! >".run/$name.pid"
  echo "started $name (pid $!, log .run/$name.log)"
}

start ingest-gateway ingest-gateway
start event-processor-1 event-processor --metrics-addr :9464
start event-processor-2 event-processor --metrics-addr :9465
start query-api query-api
start web-ui web-ui
registry=${OPENCLAW_REGISTRY:-$HOME/.claude/state/openclaw-instances.json}
if [ -f "${registry/#\~/$HOME}" ]; then
  start openclaw-monitor openclaw-monitor
else
  echo "openclaw-monitor not started: no registry at $registry"
fi
echo "dashboard: http://localhost:8082"
