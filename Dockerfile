FROM python:3.11-slim
WORKDIR /app
# LOG_FORMAT=json: containers log one JSON object per line (docs/observability.md#logs).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 LOG_FORMAT=json
COPY pyproject.toml constraints.txt alembic.ini ./
COPY contracts contracts
COPY ledger_common ledger_common
COPY ledger_worker ledger_worker
COPY outbox_relay outbox_relay
COPY http_gateway http_gateway
COPY ledger_cli ledger_cli
COPY migrations migrations
RUN pip install --no-cache-dir -c constraints.txt . && useradd --system ledger
USER ledger
ENTRYPOINT ["ledger"]
