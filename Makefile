VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
#: The AsyncAPI validator the tests run (@asyncapi/parser on node, pinned by its package-lock.json).
NODE_TOOLS := tools/asyncapi
NODE_STAMP := $(NODE_TOOLS)/node_modules/.installed
#: The Node.js event log reader the tests run (amqplib, pinned by its package-lock.json).
LOG_READER := examples/node-log-reader
LOG_READER_STAMP := $(LOG_READER)/node_modules/.installed

#: openapi-python-client, in a venv of its own (tests/e2e/test_openapi_client.py generates a client with it).
OPENAPI_VENV := .venv-openapi
OPENAPI_STAMP := $(OPENAPI_VENV)/.installed

.PHONY: attack venv tools prometheus-tools browser-tools openapi-client-tools cluster-tools cluster-up cluster-down run test test-fast lint audit bench generate schemas clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): $(NODE_TOOLS)/package.json $(NODE_TOOLS)/package-lock.json
	cd $(NODE_TOOLS) && npm ci --ignore-scripts --no-audit --no-fund
	touch $(NODE_STAMP)

$(OPENAPI_STAMP): tools/openapi-client/requirements.txt constraints.txt
	test -x $(OPENAPI_VENV)/bin/python || python3 -m venv $(OPENAPI_VENV)
	$(OPENAPI_VENV)/bin/python -m pip install -q --upgrade pip
	$(OPENAPI_VENV)/bin/python -m pip install -q -c constraints.txt -r tools/openapi-client/requirements.txt
	touch $(OPENAPI_STAMP)

$(LOG_READER_STAMP): $(LOG_READER)/package.json $(LOG_READER)/package-lock.json
	cd $(LOG_READER) && npm ci --ignore-scripts --no-audit --no-fund
	touch $(LOG_READER_STAMP)

venv: $(STAMP) $(NODE_STAMP) $(LOG_READER_STAMP)

## openapi-client-tools: openapi-python-client (pinned in constraints.txt) in .venv-openapi, apart from the project's
## own dependencies: what an outside team generates a client with, for the generated-client test
openapi-client-tools: $(OPENAPI_STAMP)

## tools: the node packages, the Prometheus binaries, the browser, the cluster packages and the client generator
## the tests use (make venv and make test install them)
tools: $(NODE_STAMP) $(LOG_READER_STAMP) prometheus-tools browser-tools cluster-tools $(OPENAPI_STAMP)

## prometheus-tools: Debian's prometheus (prometheus + promtool) when not on PATH. Tests run their own
## prometheus on a free port; the system service the package may start is stopped, so nothing relies on it.
prometheus-tools:
	@command -v prometheus >/dev/null && command -v promtool >/dev/null || { \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus && \
	  { systemctl disable --now prometheus 2>/dev/null || true; }; }

## browser-tools: Debian's chromium when not on PATH, for the console's browser tests (Playwright drives it by
## its path and never downloads a browser of its own).
browser-tools:
	@command -v chromium >/dev/null || { \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; }

## cluster-tools: Debian's rabbitmq-server and postgresql-15-auto-failover (pg_autoctl) when missing, for
## `ledger cluster` (a local RabbitMQ cluster and pg_auto_failover formation on free loopback ports, as the
## rabbitmq and postgres users). Services the packages may start are left alone: the harness runs its own.
cluster-tools:
	@test -x /usr/lib/rabbitmq/bin/rabbitmq-server && command -v pg_autoctl >/dev/null || { \
	  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
	    rabbitmq-server postgresql-15-auto-failover pg-auto-failover-cli; }

## cluster-up / cluster-down: `ledger cluster up|down` in $(CLUSTER_DIR) (prints the AMQP_URL and DATABASE_URL to use)
CLUSTER_DIR ?= /tmp/ledger-cluster
cluster-up: $(STAMP) cluster-tools
	$(PY) -m ledger_cli.main cluster up --dir $(CLUSTER_DIR)

cluster-down: $(STAMP)
	$(PY) -m ledger_cli.main cluster down --dir $(CLUSTER_DIR)

## run: migrate, then run gateway + worker + relay until Ctrl-C (honours DATABASE_URL, AMQP_URL, ...)
run: $(STAMP)
	$(PY) -m ledger_cli.main run

## test: the whole suite against the local PostgreSQL and RabbitMQ
test: $(STAMP) $(NODE_STAMP) $(LOG_READER_STAMP) $(OPENAPI_STAMP) prometheus-tools browser-tools cluster-tools
	$(PY) -m pytest -q -n 2 --durations=15 $(PYTEST_ARGS)

test-fast: $(STAMP) $(NODE_STAMP) prometheus-tools
	$(PY) -m pytest -q -m "not e2e" $(PYTEST_ARGS)

## attack: the attacker test (tests/e2e/test_attacker.py) longer than in make test: ATTACKER_EXAMPLES x ATTACKER_STEPS
## (default 50 x 50), its figures printed and written to ATTACKER_REPORT (default /tmp/ledger-attack-report.json)
attack: $(STAMP)
	ATTACKER_EXAMPLES=$${ATTACKER_EXAMPLES:-50} ATTACKER_STEPS=$${ATTACKER_STEPS:-50} \
	  ATTACKER_REPORT=$${ATTACKER_REPORT:-/tmp/ledger-attack-report.json} $(PY) -m pytest -q -s tests/e2e/test_attacker.py

## lint: ruff (incl. the S security rules), format, mypy --strict, then the dependency audit
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .
	$(PY) tools/audit_dependencies.py

## audit: pip-audit of constraints.txt; says INCOMPLETE (and fails with AUDIT_STRICT=1) if it cannot reach a database
audit: $(STAMP)
	$(PY) tools/audit_dependencies.py

bench: $(STAMP)
	$(PY) -m ledger_cli.main bench $(BENCH_ARGS)

## generate: every generated file: contracts/schemas, contracts/asyncapi.json, the catalogue and events tables of
## docs/topology.md, the capability and bounds tables of docs/security.md, the metrics table of docs/observability.md,
## the endpoint table of the README, the SDK's command methods, refusal classes and sync client, and the SDK
## reference sdk/REFERENCE.md (tests check each)
generate: $(STAMP)
	$(PY) -m contracts.export
	$(PY) -m ledger_common.metrics_table
	$(PY) -m http_gateway.endpoints_table
	$(PY) tools/sdk_generate.py
	$(PY) tools/sdk_reference.py

## schemas: the same as generate (its name before the SDK and the README were generated too)
schemas: generate

clean:
	rm -rf $(VENV) $(OPENAPI_VENV) .pytest_cache .mypy_cache .ruff_cache $(NODE_TOOLS)/node_modules $(LOG_READER)/node_modules
