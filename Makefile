# make install · make test · make demo · make bench · make lint · make dist
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROJECTS := packages/ecce packages/its packages/missing packages/erc-data apps/iteach
PYPROJECTS := $(addsuffix /pyproject.toml,$(PROJECTS))
# scikit-image: the face photograph (data.astronaut) that the media feature tests render into clips;
# timm: its-distill's tests of a timm model's num_features (the app itself no longer uses timm)
DEV_TOOLS := pytest ruff hypothesis transformers timm scikit-image
# The serve tests: fastapi's TestClient (httpx), the load test's client, the page's browser driver.
SERVE_DEV_TOOLS := httpx websockets playwright

.PHONY: install test lint format demo bench clean

install: $(STAMP)

# Re-installs only when a pyproject.toml or VERSION changes; editable installs pick up code edits.
# The sources are byte-compiled as pip compiles a wheel's: where PYTHONDONTWRITEBYTECODE is set (CI
# images, this project's build machines), every CLI start would otherwise compile the app's modules
# again (0.2-0.3 s of each run's fixed cost, benchmarks/fixed_cost.py).
# The app comes with its [features] extra (MiniLM text model, openSMILE) and the sweep, tuning and
# tracking extras (all but wandb, whose test uses a stand-in) so their tests run too.
$(STAMP): $(PYPROJECTS) VERSION Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(addprefix -e ,$(filter-out apps/iteach,$(PROJECTS))) \
		-e 'apps/iteach[features,serve,tune,tensorboard,mlflow,ray,slurm]' $(DEV_TOOLS) $(SERVE_DEV_TOOLS)
	$(BIN)/python -m compileall -q $(addsuffix /src,$(PROJECTS)) > /dev/null
	touch $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint
	$(BIN)/python -m pytest

demo: install
	$(BIN)/iteach-app demo

bench: install
	$(BIN)/python benchmarks/run_all.py $(BENCH_ARGS)

# One speed figure each (BENCH_ARGS=--quick for the short versions); see docs/RESULTS.md.
.PHONY: bench-ecce bench-load bench-model bench-train bench-epoch bench-baselines bench-gpu results
bench-ecce: install
	$(BIN)/python benchmarks/ecce_bench.py $(BENCH_ARGS)

bench-load: install
	$(BIN)/python benchmarks/load_bench.py

bench-model: install
	$(BIN)/python benchmarks/model_bench.py $(BENCH_ARGS)

bench-train: install
	$(BIN)/python benchmarks/train_bench.py $(BENCH_ARGS)

# Seconds per training epoch, utterances/s and inference latency on IEMOCAP 6-class shapes.
bench-epoch: install
	$(BIN)/python benchmarks/experiments/epoch_speed.py --threads 1

# Linear reference points of ../shared/data/README.md (about a minute).
bench-baselines: install
	$(BIN)/python benchmarks/experiments/baselines.py

# Every trained table of docs/RESULTS.md, resumable (runs in /tmp, finished ones reused): about
# 3 hours of 2 CPU cores at the default recipe's full budget; never run by CI (SEEDS=0: one seed).
SEEDS ?= 0,1,2
EXPERIMENTS := $(BIN)/python benchmarks/experiments
# The headline and ECCE-over-folds tables are sweep files (benchmarks/sweeps, seeds in the files;
# resumable: rerun to finish); SWEEP_ARGS=--launcher ray --address auto spreads them on Ray.
SWEEPS ?= /tmp/iteach-sweeps
RESULT_SWEEPS := headline-iemocap4 headline-iemocap6 headline-mosi method-emorynlp ecce-folds-iemocap4 \
	ecce-folds-iemocap6 method-ecce-iemocap4 method-ecce-iemocap6 method-ecce-mosi method-ecce-emorynlp
results: install
	for sweep in $(RESULT_SWEEPS); do \
		nice $(BIN)/iteach-app sweep grid benchmarks/sweeps/$$sweep.toml --jobs 2 $(SWEEP_ARGS) \
			--out $(SWEEPS)/$$sweep || exit 1; \
		cp $(SWEEPS)/$$sweep/summary.md docs/results/$$sweep.md; \
	done
	nice $(EXPERIMENTS)/run_results.py all --seeds $(SEEDS)
	nice $(EXPERIMENTS)/compare_baselines.py iemocap --full --seeds $(SEEDS) \
		--models iteach,ae,cra,mmin,cpm --out /tmp/iteach-baselines
	nice $(EXPERIMENTS)/compare_baselines.py mosi --full --seeds $(SEEDS) --out /tmp/iteach-baselines

# Wheel and sdist of each of the five distributions into dist/, each built alone from its own
# folder (wheel from the sdist), then checked by twine. Needs only the venv, not the install.
.PHONY: dist
dist:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet build twine
	rm -rf dist
	for project in $(PROJECTS); do $(BIN)/python -m build --outdir dist $$project || exit 1; done
	$(BIN)/python -m twine check --strict dist/*

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache

# Throughput before/after against REF (a git ref), and memory/time vs conversation length.
REF ?= 7597c5f
bench-speed: install
	$(BIN)/python benchmarks/speed_bench.py --ref $(REF) --threads 2 --variants

bench-memory: install
	$(BIN)/python benchmarks/memory_bench.py $(BENCH_ARGS)

# On a CUDA machine: epochs, UME, latency, a paper-preset train and a DDP smoke test (issue 31).
bench-gpu: install
	$(BIN)/python benchmarks/gpu_check.py --device cuda $(BENCH_ARGS)
