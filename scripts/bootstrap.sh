# Sourced by run.sh, test.sh and .ci/run: make .venv hold what the project needs.
# Reinstalls only when pyproject.toml changed since the last install.

ensure_venv() {
    local extras="${1:-}"
    local python="${PYTHON:-python3}"
    if [ ! -x .venv/bin/python ]; then
        echo "papertrade: creating .venv with $($python --version)"
        "$python" -m venv .venv
    fi
    local stamp=".venv/.installed${extras:+-$extras}"
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        echo "papertrade: installing Python packages into .venv ${extras:+(with $extras extras)}"
        .venv/bin/python -m pip install --quiet --upgrade pip
        .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
        touch "$stamp"
    fi
}

ensure_frontend() {
    # The React front end is built to frontend/dist, which the gateway serves.
    [ -f frontend/package.json ] || return 0
    if ! command -v npm >/dev/null 2>&1; then
        echo "papertrade: npm not found; the API works, the browser UI needs Node 20 + npm" >&2
        return 0
    fi
    if [ ! -f frontend/node_modules/.package-lock.json ] || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
        (cd frontend && npm ci --no-audit --no-fund --loglevel=error)
    fi
    if [ ! -f frontend/dist/index.html ] || [ -n "$(find frontend/src frontend/index.html -newer frontend/dist/index.html 2>/dev/null | head -1)" ]; then
        (cd frontend && npm run build --silent)
    fi
}
