#!/usr/bin/env bash
# Run the whole test suite against the real PostgreSQL and RabbitMQ
# (the same URLs as run.sh). Extra arguments go to pytest, e.g. ./test.sh tests/unit -q
set -euo pipefail
cd "$(dirname "$0")"
. scripts/bootstrap.sh
ensure_venv test
ensure_frontend
exec .venv/bin/python -m pytest "$@"
