# qbsync developer commands. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help
PYTHON ?= python3
# Where `make uv` puts uv when pip may not install it (PEP 668: a distribution's system Python).
TOOLS ?= $(CURDIR)/.tools
# Deferred (`?=`), so that recipes running after `make uv` find the uv it just installed: on PATH,
# in pip's --user scripts directory, or in the tool venv.
UV ?= $(shell command -v uv 2>/dev/null || { for c in "$$($(PYTHON) -m site --user-base 2>/dev/null)/bin/uv" "$(HOME)/.local/bin/uv" "$(TOOLS)/uv/bin/uv"; do [ -x "$$c" ] && echo "$$c" && exit 0; done; echo uv; })
export UV_LINK_MODE ?= copy
PACKAGES := libs/common/src sandbox/devstack/src libs/qbo-client/src sandbox/qbo-emulator/src services/oauth-gateway/src services/partner-sync/src services/invoice-sync/src services/payment-poller/src

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  \033[1m%-10s\033[0m %s\n", $$1, $$2}'

.PHONY: uv
uv: ## install uv if it is missing: pip --user, else a tool venv under .tools
	@if [ -x "$(UV)" ]; then exit 0; fi; \
	echo "uv not found; installing it with $(PYTHON) -m pip"; \
	$(PYTHON) -m pip install --user --quiet uv 2>/dev/null \
	|| $(PYTHON) -m pip install --user --quiet --break-system-packages uv 2>/dev/null \
	|| { $(PYTHON) -m venv "$(TOOLS)/uv" && "$(TOOLS)/uv/bin/python" -m pip install --quiet uv; } \
	|| { echo "could not install uv with $(PYTHON); install it yourself: https://docs.astral.sh/uv/" >&2; exit 1; }

.PHONY: install
install: uv ## create .venv with every package of the workspace (from uv.lock)
	$(UV) sync --locked --all-packages

.PHONY: migrate
migrate: install ## create or upgrade every service's schema
	$(UV) run python -m qbsync_dev migrate

.PHONY: run
run: install ## the whole system locally: emulator + migrations + all services (Ctrl-C stops)
	$(UV) run python -m qbsync_dev run

.PHONY: test
test: install ## all tests (needs RabbitMQ and PostgreSQL on their default ports)
	UV="$(UV)" $(UV) run pytest -q $(PYTEST_ARGS)

.PHONY: lint
lint: install ## ruff lint and format check
	$(UV) run ruff check .
	$(UV) run ruff format --check .

.PHONY: format
format: install ## apply ruff fixes and formatting
	$(UV) run ruff check --fix .
	$(UV) run ruff format .

.PHONY: typecheck
typecheck: install ## mypy --strict on our packages
	$(UV) run mypy $(PACKAGES)

.PHONY: contracts
contracts: install ## regenerate contracts/ (AsyncAPI + JSON Schemas, tenant settings schema) from the models
	$(UV) run python -m qbsync_common.contract.export
	$(UV) run python -m oauth_gateway.settings_schema

.PHONY: bench
bench: install ## benchmarks (plumbing, emulator, client); prints a table
	$(UV) run python -m qbsync_dev bench

.PHONY: up
up: ## docker compose: the whole stack with RabbitMQ, PostgreSQL, Jaeger, Prometheus, Grafana
	docker compose up --build -d

.PHONY: down
down: ## stop the docker compose stack
	docker compose down
