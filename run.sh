#!/usr/bin/env bash
# Run papertrade on this machine: install into .venv, build the front end, create,
# migrate and seed the five databases, start every process, print the address.
# PostgreSQL and RabbitMQ are taken from PAPERTRADE_PG_URL / PAPERTRADE_AMQP_URL
# (defaults: postgresql://postgres@127.0.0.1:5432, amqp://guest:guest@127.0.0.1:5672/%2F).
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
ensure_venv
ensure_frontend
exec .venv/bin/python -m stack up "$@"
