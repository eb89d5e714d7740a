# The original system's targets, for the Python rebuild.
COMPOSE ?= docker compose -f deploy/docker-compose.yml --env-file .env
AGENTMON ?= .venv/bin/agentmon

.PHONY: up down logs run-ingest run-query run-processor run-ui run-openclaw-monitor serve demo test lint tidy bench venv

venv:
	@[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/pip install -q -e ".[test,dev,libvirt]"

up:            ## PostgreSQL, NATS and every service in containers
	$(COMPOSE) up -d
down:
	$(COMPOSE) down
logs:
	$(COMPOSE) logs -f

run-ingest: venv
	$(AGENTMON) ingest-gateway
run-query: venv
	$(AGENTMON) query-api
run-processor: venv
	$(AGENTMON) event-processor
run-ui: venv
	$(AGENTMON) web-ui
run-openclaw-monitor: venv
	$(AGENTMON) openclaw-monitor

serve: venv    ## embedded: everything in one process over SQLite
	$(AGENTMON) serve
demo: venv
	$(AGENTMON) serve --demo

test:
	./scripts/test.sh
lint: venv
	.venv/bin/ruff check src tests bench
	.venv/bin/mypy
tidy: venv     ## the Python equivalent of `go mod tidy`: fix imports/style, check dependencies
	.venv/bin/ruff check --fix src tests bench
	.venv/bin/pip check
bench: venv    ## every benchmark (needs local PostgreSQL and NATS for the distributed ones)
	.venv/bin/python bench/bench_ingest.py --mode embedded
	.venv/bin/python bench/bench_ingest.py --mode distributed --processors 2
	.venv/bin/python bench/bench_queries.py --fast-seed --events 10000000
	.venv/bin/python bench/bench_live.py
	.venv/bin/python bench/bench_otlp.py
	.venv/bin/python bench/bench_hooks.py
