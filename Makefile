# heartlab's front door. `make help` lists the targets.
#
# Two commands do everything on a fresh machine:
#   make lab    fetch, validate, report, run the notebooks, build the book
#   make test   lint, run every test, run the notebooks, build the book
# Both run `make setup` first, which installs the tools and is safe to repeat.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Where installed tools and caches live; CI points this at a lasting folder.
HEARTLAB_CACHE ?= $(HOME)/.cache/heartlab
VENV ?= $(HEARTLAB_CACHE)/venv
export EVCXR_TMPDIR ?= $(HEARTLAB_CACHE)/evcxr

CARGO ?= cargo
PYTHON ?= python3
EVCXR_VERSION := 0.22.0
MDBOOK_VERSION := 0.5.4
JUPYTER := $(VENV)/bin/jupyter
HEARTLAB := $(CARGO) run --quiet --bin heartlab --
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
GENERATED := book/src/generated

.PHONY: help setup data validate report cleaning train export leakage perf lab test lint \
	cargo-test notebooks book bench clean server fuzz-server bench-server

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

define require
	@command -v $(1) >/dev/null 2>&1 || { echo "error: '$(1)' is not installed. $(2)" >&2; exit 1; }
endef

setup: ## install the pinned tools: Python venv, evcxr Jupyter kernel, mdBook (safe to repeat)
	$(call require,$(CARGO),Install Rust with rustup: https://rustup.rs)
	$(call require,$(PYTHON),Install Python 3.10 or newer.)
	@if ! cmp -s lab/requirements.txt $(VENV)/.installed 2>/dev/null; then \
	  echo "setup: Python tools into $(VENV)"; \
	  $(PYTHON) -m venv $(VENV); \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check -r lab/requirements.txt; \
	  cp lab/requirements.txt $(VENV)/.installed; \
	else echo "setup: Python tools already installed in $(VENV)"; fi
	@if ! cmp -s lab/requirements-serving.txt $(VENV)/.installed-serving 2>/dev/null; then \
	  echo "setup: serving tools (schemathesis) into $(VENV)"; \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check -r lab/requirements-serving.txt; \
	  cp lab/requirements-serving.txt $(VENV)/.installed-serving; \
	else echo "setup: serving tools already installed in $(VENV)"; fi
	@if ! $(CARGO) install --list | grep -q "^evcxr_jupyter v$(EVCXR_VERSION):"; then \
	  echo "setup: building evcxr_jupyter $(EVCXR_VERSION) (several minutes, once)"; \
	  $(CARGO) install --quiet --locked evcxr_jupyter --version $(EVCXR_VERSION); \
	else echo "setup: evcxr_jupyter $(EVCXR_VERSION) present"; fi
	@if ! $(JUPYTER) kernelspec list 2>/dev/null | grep -qw rust; then \
	  echo "setup: registering the Rust kernel"; evcxr_jupyter --install >/dev/null; \
	else echo "setup: Rust kernel registered"; fi
	@if ! $(CARGO) install --list | grep -q "^mdbook v$(MDBOOK_VERSION):"; then \
	  echo "setup: building mdbook $(MDBOOK_VERSION)"; \
	  $(CARGO) install --quiet --locked mdbook --version $(MDBOOK_VERSION); \
	else echo "setup: mdbook $(MDBOOK_VERSION) present"; fi

data: ## fetch the four files into data/raw/ (from $$HEARTLAB_DATA_MIRROR when set), verified
	$(call require,$(CARGO),Install Rust with rustup: https://rustup.rs)
	$(HEARTLAB) fetch

validate: data ## check every row against the contract into data/validated/
	$(HEARTLAB) validate

report: data ## write the phase-1 data report into lab/reports/data/
	$(HEARTLAB) report

cleaning: data ## phase 2: clean by lab/params.yaml, and what each way of cleaning costs
	$(HEARTLAB) clean

train: data ## phase 4: fit the pipeline and the model, choose the threshold, evaluate on test
	$(HEARTLAB) train

export: data ## phase 4: the matrices the model sees (CSV) and the fitted pipeline (JSON)
	$(HEARTLAB) export

leakage: data ## phase 3: every leakage experiment against the honest flow, on every seed
	$(HEARTLAB) leakage

perf: data ## phase 4: fit time and peak memory, real data and 920,000 rows (release build)
	@mkdir -p lab/reports/perf
	$(CARGO) build --quiet --release --example fit_speed
	@{ echo "| what is fitted | solver | rows | fit time (median) | converged | memory before the fit | peak memory |"; \
	  echo "|---|---|---:|---:|---|---:|---:|"; \
	  for case in real real-newton train train-newton all all-newton; do $(CARGO) run --quiet --release --example fit_speed -- $$case; done; \
	} > lab/reports/perf/fit.md
	@cat lab/reports/perf/fit.md

lab: setup validate report cleaning train export leakage perf notebooks book ## run the lab end to end

test: setup lint cargo-test fuzz-server notebooks book ## every check CI runs

lint: ## formatting and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --quiet --workspace --all-targets -- -D warnings

cargo-test: data ## the Rust tests: unit, property, snapshot, integration (lab and server)
	$(CARGO) test --quiet --workspace

notebooks: data ## run every notebook headless on the evcxr kernel into the book
	$(call require,$(JUPYTER),Run 'make setup' first.)
	@mkdir -p $(GENERATED)/notebooks $(EVCXR_TMPDIR)
	@for nb in $(NOTEBOOKS); do \
	  echo "notebooks: running $$nb"; \
	  $(JUPYTER) nbconvert --log-level WARN --execute --to markdown \
	    --ExecutePreprocessor.timeout=1800 --CoalesceStreamsPreprocessor.enabled=True --output-dir $(GENERATED)/notebooks "$$nb"; \
	done

book: report cleaning train leakage perf notebooks ## build the mdBook into book/build/
	$(call require,mdbook,Run 'make setup' first.)
	@mkdir -p $(GENERATED)/phase-1 $(GENERATED)/phase-2 $(GENERATED)/phase-3 $(GENERATED)/phase-4
	cp -r lab/reports/data/data-report.md lab/reports/data/charts $(GENERATED)/phase-1/
	cp lab/reports/clean/cleaning.md $(GENERATED)/phase-2/
	cp lab/reports/leakage/leakage.md $(GENERATED)/phase-3/
	cp lab/reports/evaluation/evaluation.md lab/reports/perf/fit.md $(GENERATED)/phase-4/
	$(HEARTLAB) params > $(GENERATED)/parameters.md
	@mkdir -p $(GENERATED)/phase-7; if [ -f lab/reports/serving/bench.md ]; then \
	  cp lab/reports/serving/bench.md $(GENERATED)/phase-7/; else \
	  echo '*No figures yet: `make bench-server` measures them on your machine.*' \
	    > $(GENERATED)/phase-7/bench.md; fi
	mdbook build book
	@echo "book: open book/build/index.html"

bench: data train bench-server ## criterion benchmarks and the server under load (release build)
	$(CARGO) bench --bench phase1
	$(CARGO) bench --bench phase4
	$(CARGO) bench --bench artifact

clean: ## remove build outputs and generated files (keeps data/raw and the tool cache)
	rm -rf book/build $(GENERATED) lab/reports lab/out data/validated
	$(CARGO) clean

# --- Phase 7: the prediction server (server/, crate heartlab-server) ---------
# Built on its own (-p) so the library comes without polars or linfa.
SERVER_TARGET := $(or $(CARGO_TARGET_DIR),target)
SERVER_ARTIFACT ?= lab/out/model/artifact.json
SERVER_FUZZ_PORT ?= 18480

server: ## build the release prediction server (no polars, about a minute)
	$(CARGO) build --quiet --release -p heartlab-server
	@echo "server: $(SERVER_TARGET)/release/heartlab-server"

fuzz-server: train ## schemathesis against the running server, from its own OpenAPI document
	$(call require,$(VENV)/bin/schemathesis,Run 'make setup' first.)
	$(CARGO) build --quiet -p heartlab-server
	bash server/bench/fuzz.sh $(SERVER_TARGET)/debug/heartlab-server $(SERVER_ARTIFACT) \
	  $(VENV)/bin/schemathesis $(SERVER_FUZZ_PORT)

bench-server: train ## the server under load on loopback: throughput, p99, memory, start-up
	$(call require,wrk,Install it with: apt-get install -y wrk)
	$(call require,hey,Install it with: apt-get install -y hey)
	$(CARGO) build --quiet --release -p heartlab-server
	$(CARGO) bench --quiet -p heartlab-server --bench batch
	bash server/bench/load.sh $(SERVER_TARGET)/release/heartlab-server $(SERVER_ARTIFACT) \
	  lab/reports/serving/bench.md $(SERVER_TARGET)/criterion
