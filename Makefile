VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: venv run test test-fast lint audit bench schemas clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## run: migrate, then run gateway + worker + relay until Ctrl-C (honours DATABASE_URL, AMQP_URL, ...)
run: $(STAMP)
	$(PY) -m ledger_cli.main run

## test: the whole suite against the local PostgreSQL and RabbitMQ
test: $(STAMP)
	$(PY) -m pytest -q -n 2 $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not e2e" $(PYTEST_ARGS)

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

schemas: $(STAMP)
	$(PY) -m contracts.export

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
