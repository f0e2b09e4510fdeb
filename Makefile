# heartlab's front door. `make help` lists the targets.
#
# Two commands do everything on a fresh machine:
#   make lab    run the DVC pipeline, the studies, the notebooks, build the book
#   make test   lint, run every test, run the notebooks, build the book
# Both run `make setup` first, which installs the tools and is safe to repeat.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Where installed tools and caches live; CI points this at a lasting folder.
export HEARTLAB_CACHE ?= $(HOME)/.cache/heartlab
VENV ?= $(HEARTLAB_CACHE)/venv
export EVCXR_TMPDIR ?= $(HEARTLAB_CACHE)/evcxr

CARGO ?= cargo
PYTHON ?= python3
EVCXR_VERSION := 0.22.0
MDBOOK_VERSION := 0.5.4
JUPYTER := $(VENV)/bin/jupyter
DVC := $(VENV)/bin/dvc
MLFLOW := $(VENV)/bin/mlflow
# The CLI as DVC's stages call it (a release build through cargo).
HEARTLAB := lab/heartlab
# The release binary lab/heartlab builds, for the notebooks and the timings
# (scratch clones elsewhere must not rebuild it).
RELEASE_BIN = $(abspath $(or $(CARGO_TARGET_DIR),target))/release/heartlab
# The DVC remote: a folder, by default beside the tool cache; move it with
# `make push DVC_REMOTE=/some/folder`.
DVC_REMOTE ?= $(HEARTLAB_CACHE)/dvc-remote
MLFLOW_PORT ?= 5000
MLFLOW_HOME ?= $(HEARTLAB_CACHE)/mlflow
NOTEBOOKS := $(sort $(wildcard notebooks/*.ipynb))
GENERATED := book/src/generated

.PHONY: help setup data validate report cleaning train export leakage pipeline perf lab test \
	lint cargo-test notebooks book bench clean push pull runs mlflow sweep server fuzz-server \
	bench-server deploy-figures image deploy undeploy canary promote rollback

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
	@if ! cmp -s lab/requirements-deploy.txt $(VENV)/.installed-deploy 2>/dev/null; then \
	  echo "setup: deploy test tools (kubernetes-validate) into $(VENV)"; \
	  $(VENV)/bin/pip install --quiet --disable-pip-version-check -r lab/requirements-deploy.txt; \
	  cp lab/requirements-deploy.txt $(VENV)/.installed-deploy; \
	else echo "setup: deploy test tools already installed in $(VENV)"; fi
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

# Each stage target asks DVC for that stage, which runs it and whatever it
# depends on, and only if an input changed.
define repro
	$(call require,$(DVC),Run 'make setup' first.)
	$(DVC) repro $(1)
endef

data: ## fetch the four files into data/raw/ (from $$HEARTLAB_DATA_MIRROR when set), verified
	$(call require,$(CARGO),Install Rust with rustup: https://rustup.rs)
	$(call repro,fetch)

validate: ## check every row against the contract into data/validated/
	$(call repro,validate)

report: ## write the phase-1 data report into lab/reports/data/
	$(call repro,report)

cleaning: ## phase 2: clean by lab/params.yaml, and what four ways of cleaning cost
	$(call repro,clean cleaning-report)

train: ## phases 4-6: split, train, evaluate, package the artifact; records runs
	$(call repro,package)

export: ## phase 4: the matrices the model sees (CSV) and the fitted pipeline (JSON)
	$(call repro,export)

leakage: ## phase 3: every leakage experiment against the honest flow, on every seed
	$(call repro,leakage)

pipeline: ## every DVC stage that is out of date (all of them from a clean state)
	$(call repro,)

push: ## send the DVC cache to the remote folder $$DVC_REMOTE
	@mkdir -p $(DVC_REMOTE)
	$(DVC) remote modify --local lab url $(abspath $(DVC_REMOTE))
	$(DVC) push

pull: ## fetch data and outputs for this commit from the remote folder $$DVC_REMOTE
	$(DVC) remote modify --local lab url $(abspath $(DVC_REMOTE))
	$(DVC) pull

runs: ## list the recorded runs (`lab/heartlab runs show|compare` for more)
	$(HEARTLAB) runs list

mlflow: ## start an MLflow UI on 127.0.0.1:$$MLFLOW_PORT and send it every recorded run
	$(call require,$(MLFLOW),Run 'make setup' first.)
	@mkdir -p $(MLFLOW_HOME)
	lab/mlflow-ui $(MLFLOW) $(MLFLOW_HOME) $(MLFLOW_PORT)

sweep: ## phase 5: DVC experiments over l2 and imputation, and how many seeds are enough
	$(call require,$(DVC),Run 'make setup' first.)
	lab/sweep $(DVC)

perf: data ## phases 4 and 6: fit time and memory (real and 920,000 rows), pipeline timings
	@mkdir -p lab/reports/perf
	$(CARGO) build --quiet --release --example fit_speed
	@{ echo "| what is fitted | solver | rows | fit time (median) | converged | memory before the fit | peak memory |"; \
	  echo "|---|---|---:|---:|---|---:|---:|"; \
	  for case in real real-newton train train-newton all all-newton; do $(CARGO) run --quiet --release --example fit_speed -- $$case; done; \
	} > lab/reports/perf/fit.md
	@cat lab/reports/perf/fit.md
	$(CARGO) build --quiet --release --bin heartlab
	lab/time-pipeline $(DVC) $(RELEASE_BIN) > lab/reports/perf/pipeline.md
	@cat lab/reports/perf/pipeline.md

lab: setup pipeline perf sweep notebooks book ## run the lab end to end

test: setup lint cargo-test fuzz-server notebooks book ## every check CI runs

lint: ## formatting and clippy, warnings as errors
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --quiet --workspace --all-targets -- -D warnings

cargo-test: data ## the Rust tests: unit, property, snapshot, integration, server, deploy
	$(CARGO) test --quiet --workspace

notebooks: pipeline sweep ## run every notebook headless on the evcxr kernel into the book
	$(call require,$(JUPYTER),Run 'make setup' first.)
	$(CARGO) build --quiet --release --bin heartlab
	@mkdir -p $(GENERATED)/notebooks $(EVCXR_TMPDIR)
	@for nb in $(NOTEBOOKS); do \
	  echo "notebooks: running $$nb"; \
	  HEARTLAB_BIN=$(RELEASE_BIN) $(JUPYTER) nbconvert --log-level WARN --execute --to markdown \
	    --ExecutePreprocessor.timeout=1800 --CoalesceStreamsPreprocessor.enabled=True --output-dir $(GENERATED)/notebooks "$$nb"; \
	done

book: pipeline perf sweep bench-server deploy-figures notebooks ## build the mdBook into book/build/
	$(call require,mdbook,Run 'make setup' first.)
	@mkdir -p $(GENERATED)/phase-1 $(GENERATED)/phase-2 $(GENERATED)/phase-3 $(GENERATED)/phase-4 \
	  $(GENERATED)/phase-5 $(GENERATED)/phase-6
	cp -r lab/reports/data/data-report.md lab/reports/data/charts $(GENERATED)/phase-1/
	cp lab/reports/clean/cleaning.md $(GENERATED)/phase-2/
	cp lab/reports/leakage/leakage.md $(GENERATED)/phase-3/
	cp lab/reports/evaluation/evaluation.md lab/reports/perf/fit.md $(GENERATED)/phase-4/
	cp lab/reports/tracking/sweep.md lab/reports/tracking/seeds.md $(GENERATED)/phase-5/
	cp lab/reports/perf/pipeline.md $(GENERATED)/phase-6/
	$(DVC) dag > $(GENERATED)/phase-6/dag.txt
	$(HEARTLAB) params > $(GENERATED)/parameters.md
	@mkdir -p $(GENERATED)/phase-7 $(GENERATED)/phase-8
	cp lab/reports/serving/bench.md lab/reports/serving/instructions.md $(GENERATED)/phase-7/
	cp lab/reports/deploy/*.md $(GENERATED)/phase-8/
	mdbook build book
	@echo "book: open book/build/index.html"

bench: data train bench-server ## criterion benchmarks and the server under load (release build)
	$(CARGO) bench --bench phase1
	$(CARGO) bench --bench phase4
	$(CARGO) bench --bench artifact

clean: ## remove build outputs and generated files (keeps data/raw, lab/runs, the DVC cache)
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

bench-server: train ## the server under load on loopback, then its instructions per request
	$(call require,wrk,Install it with: apt-get install -y wrk)
	$(call require,hey,Install it with: apt-get install -y hey)
	$(CARGO) build --quiet --release -p heartlab-server
	$(CARGO) bench --quiet -p heartlab-server --bench batch
	bash server/bench/load.sh $(SERVER_TARGET)/release/heartlab-server $(SERVER_ARTIFACT) \
	  lab/reports/serving/bench.md $(SERVER_TARGET)/criterion
	$(call require,valgrind,Install it with: apt-get install -y valgrind)
	python3 server/bench/instructions.py $(SERVER_TARGET)/release/heartlab-server \
	  $(SERVER_ARTIFACT) lab/reports/serving/instructions.md

# Phases 7-8: the container image and the kind cluster (deploy/README.md).

# The image tests record their measurements for the phase 8 chapter; `make test`
# has run them by the time the book is built, `make lab` runs them here.
DEPLOY_FIGURES := $(addprefix lab/reports/deploy/,image.md startup.md resources.md \
	rollout-drain-10.md rollout-drain-0.md)

deploy-figures: $(DEPLOY_FIGURES) ## the image tests' measurements (image size, memory, rollout)

$(DEPLOY_FIGURES) &:
	$(CARGO) test --quiet -p heartlab-deploy-tests --test image

IMAGE_TAG ?= $(shell deploy/deploy.sh images | sed -n 's/^stable //p')

image: ## build the server image (static binary, scratch) from lab/out/model/artifact.json
	deploy/build-image.sh $(IMAGE_TAG)

deploy: ## kind cluster (if none), image, load, apply the kind overlay, wait, one prediction
	deploy/deploy.sh deploy

undeploy: ## remove the server and the canary from the kind cluster (the cluster stays)
	deploy/deploy.sh undeploy

canary: ## run the next model version (lab/out/model) beside the stable one, 1 pod in 4
	deploy/deploy.sh canary

promote: ## the stable track takes the canary's image, then the canary goes
	deploy/deploy.sh promote

rollback: ## remove the canary; the stable track keeps serving unchanged
	deploy/deploy.sh rollback
