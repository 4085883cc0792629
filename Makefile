# The one entry point for humans and CI. `make help` lists the targets.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

REPO    := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
TOOLS   := $(shell bash -c '. $(REPO)/ci/lib.sh; tools_path')
export PATH := $(TOOLS):$(PATH)
export PYTHONPATH := $(REPO)$(if $(PYTHONPATH),:$(PYTHONPATH))
VENV     = $(shell $(REPO)/ci/python-env)
PY       = $(VENV)/bin/python
PYTEST_ARGS ?=
# Tiers the full test run must contain; a tier with no tests selected fails the run.
TIERS   ?= render,serve,cluster,pods,load

.PHONY: help bootstrap images python-env prepare model serve test test-render test-serve test-cluster test-pods test-load lock versions load vendor cluster-up cluster-down kind-up kind-down docs bench bench-crosscheck bench-autoscale reliability fuzz

help: ## Show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

bootstrap: ## Install every pinned non-Python tool into the per-user cache (idempotent)
	@$(REPO)/ci/bootstrap

images: ## Build the pods tier's images: stand-ins from Debian packages, images/serve-app/Dockerfile.cpu with podman (cached by content; needs root)
	@$(REPO)/ci/images build

python-env: ## Install the locked Python environment (CPU vLLM, Ray Serve, test harness)
	@$(REPO)/ci/python-env >/dev/null

prepare: ## bootstrap, images and python-env side by side (they share nothing; a cold machine saves ~10 min)
	@$(MAKE) --no-print-directory -j3 bootstrap images python-env

model: python-env ## Build the embedded tiny model (cached) and print its directory
	@$(PY) -m serve_app.tiny_model

serve: python-env ## Serve the tiny model through Ray Serve + vLLM on http://127.0.0.1:8000
	@$(PY) -m serve_app

test: prepare ## Run every test tier (render, serve, cluster, pods, load)
	@$(PY) -m pytest --require-tiers $(TIERS) $(PYTEST_ARGS)

test-render: bootstrap python-env ## Render tier only
	@$(PY) -m pytest -m render $(PYTEST_ARGS)

test-serve: bootstrap python-env ## Serve tier only
	@$(PY) -m pytest -m serve $(PYTEST_ARGS)

test-cluster: bootstrap python-env ## Cluster tier only
	@$(PY) -m pytest -m cluster $(PYTEST_ARGS)

test-pods: prepare ## Pods tier only (a real node: needs root)
	@$(PY) -m pytest -m pods $(PYTEST_ARGS)

test-load: bootstrap python-env ## Load tier only
	@$(PY) -m pytest -m load $(PYTEST_ARGS)

lock: ## Re-resolve the Python environment and rewrite requirements/lock.txt
	@$(REPO)/ci/python-env --lock

versions: ## Print every pinned version
	@grep -E '^[A-Z_]+=' $(REPO)/ci/versions.env

URL  ?= http://127.0.0.1:8000
ARGS ?=
load: python-env ## Load test an OpenAI endpoint: make load URL=http://... ARGS="--users 16 --api-key ..."
	@$(PY) -m loadtest.run --url $(URL) --out $(REPO)/reports/load $(ARGS)

vendor: bootstrap python-env ## Fetch the upstream charts pinned in Chartfile.lock into vendor/
	@$(REPO)/ci/vendor

cluster-up: bootstrap images ## Start a local control plane with fake GPU nodes, KubeRay and a real node (kubeconfig printed)
	@$(REPO)/ci/cluster up && $(REPO)/ci/node up

cluster-down: ## Stop the local control plane started by cluster-up
	@$(REPO)/ci/cluster down

kind-up: ## Start a kind cluster shaped like cluster-up's (needs Docker; not used in CI)
	@$(REPO)/ci/kind up

kind-down: ## Delete the kind cluster started by kind-up
	@$(REPO)/ci/kind down

docs: bootstrap ## Regenerate every chart's README.md from its values.yaml (helm-docs)
	@helm-docs --chart-search-root $(REPO)/charts

bench: python-env ## Side-by-side benchmark on the tiny model (serve_app, vLLM server, peer, naive); writes reports/bench/
	@$(PY) -m loadtest.bench --out $(REPO)/reports/bench $(ARGS)

bench-crosscheck: python-env ## The harness against vLLM's own benchmark client on one vLLM server; writes reports/bench/crosscheck/
	@$(PY) -m loadtest.bench --systems vllm --concurrency 8 --out $(REPO)/reports/bench/crosscheck $(ARGS)

bench-autoscale: python-env ## Autoscaling run: step load against serve_app scaling 1..2 CPU replicas; writes reports/bench/autoscaling/
	@$(PY) -m loadtest.bench.autoscale --out $(REPO)/reports/bench/autoscaling $(ARGS)

CASES ?= 20000
fuzz: python-env ## Long exploratory fuzz (new seed) of serve_app beside vLLM's server: make fuzz CASES=20000 [ARGS="--seed N"]; failures join tests/serve_app/fuzz_corpus/
	@$(PY) -m tests.support.fuzz_explore --cases $(CASES) --out $(REPO)/reports/fuzz.json $(ARGS)

reliability: python-env ## Fault, overload and fuzz tests on the live app; figures to reports/reliability.json
	@LLMSTACK_RELIABILITY_JSON=$(REPO)/reports/reliability.json $(PY) -m pytest -p no:cacheprovider \
	  tests/serve_app/test_faults.py tests/serve_app/test_backpressure.py tests/serve_app/test_fuzz.py $(PYTEST_ARGS)
