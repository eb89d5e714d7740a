# The original system's targets, for the Python rebuild.
# No --env-file: the compose file reads .env itself when there is one.
COMPOSE ?= docker compose -f deploy/docker-compose.yml
AGENTMON ?= .venv/bin/agentmon

.PHONY: up up-monitor down logs run-ingest run-query run-processor run-ui run-openclaw-monitor serve demo test lint tidy bench venv constraints dist

venv:          ## the development virtualenv, at the versions in constraints.txt
	@[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/pip install -q -c constraints.txt -e ".[server,test,dev,libvirt]"

constraints:   ## after changing a range: resolve it anew, then pin what was installed
	@[ -x .venv/bin/python ] || python3 -m venv .venv
	.venv/bin/pip install -q --upgrade -e ".[server,test,dev,libvirt]"
	{ sed -n '/^#/p' constraints.txt; .venv/bin/pip freeze --all --exclude-editable \
	  | grep -v -e '^agentmon' -e '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

dist: venv     ## sdist and wheel in dist/
	.venv/bin/python -m build --no-isolation --outdir dist .

up:            ## PostgreSQL, NATS and every service in containers
	$(COMPOSE) up -d --build
up-monitor:    ## the same plus the OpenClaw VM monitor
	$(COMPOSE) --profile monitor up -d --build
down:
	$(COMPOSE) --profile monitor down
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
	.venv/bin/mypy          # src/, strict (pyproject.toml)
	.venv/bin/mypy tests    # tests/, plain
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
