# One image for every papertrade process; docker-compose.yml picks the command.

FROM node:20-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p dist; fi

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service_runtime/ service_runtime/
COPY user_accounts/ user_accounts/
COPY user_portfolio/ user_portfolio/
COPY stock_data/ stock_data/
COPY stock_ordering/ stock_ordering/
COPY order_matching/ order_matching/
COPY socket_gateway/ socket_gateway/
COPY house_bots/ house_bots/
COPY db/ db/
COPY stack/ stack/
COPY bench/ bench/
COPY papertrade_client/ papertrade_client/
RUN pip install .
COPY --from=frontend /src/frontend/dist frontend/dist
RUN useradd --create-home papertrade && chown -R papertrade /app
USER papertrade
