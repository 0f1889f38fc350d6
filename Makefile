# weightwise: `make demo` and `make test` each work from a fresh clone.
# The pinned CPU torch is installed first so that no resolver ever pulls a CUDA build;
# override with `make test TORCH_SPEC="torch==2.5.1"` for another build.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.weightwise-installed
DOCS_STAMP := $(VENV)/.weightwise-docs-installed
GENERATED := docs/_generated/.stamp
DIST_VENV ?= build/dist-venv
export KERAS_BACKEND ?= torch

.PHONY: install demo test lint typecheck pytest bench clean test-keras-jax test-keras-tf docs dist

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install "$(TORCH_SPEC)"
	$(BIN)/python -m pip install -e ".[cli,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/weightwise inspect
	$(BIN)/weightwise compare --out weightwise-runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck pytest

# The Keras tests on the JAX backend (not part of `make test`): installs JAX into the venv.
test-keras-jax: $(STAMP)
	$(BIN)/python -m pip install -q jax jaxlib
	KERAS_BACKEND=jax $(BIN)/python -m pytest -q -p no:cacheprovider tests/keras

# The Keras tests on the TensorFlow backend, tf.data included (not part of `make test`):
# installs tensorflow-cpu into the venv.
test-keras-tf: $(STAMP)
	$(BIN)/python -m pip install -q tensorflow-cpu
	KERAS_BACKEND=tensorflow $(BIN)/python -m pytest -q -p no:cacheprovider tests/keras

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(BIN)/python $$f || exit 1; done

# The documentation site into site/: the docs extra (MkDocs, Material, mkdocstrings) into the
# venv, the build-time content (CLI help, a short `compare` run) regenerated when the sources
# change, then a strict build (a broken link or reference fails it).
$(DOCS_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install -e ".[cli,dev,docs]"
	touch $(DOCS_STAMP)

$(GENERATED): $(DOCS_STAMP) tools/docs/generate.py $(shell find src -name '*.py')
	$(BIN)/python tools/docs/generate.py
	touch $(GENERATED)

docs: $(GENERATED)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# Release checks: sdist and wheel, twine check, their contents, then the wheel installed into a
# fresh venv (pinned CPU torch first) runs the CLI and imports every public subpackage.
dist: $(DOCS_STAMP)
	rm -rf dist $(DIST_VENV)
	$(BIN)/python -m build --outdir dist .
	$(BIN)/python -m twine check --strict dist/*
	$(BIN)/python tools/check_dist.py contents dist
	$(PYTHON) -m venv $(DIST_VENV)
	$(DIST_VENV)/bin/python -m pip install -q "$(TORCH_SPEC)"
	$(DIST_VENV)/bin/python -m pip install -q "$$(ls dist/*.whl)[cli]"
	cd $(DIST_VENV) && bin/weightwise --help
	cd $(DIST_VENV) && bin/weightwise inspect
	cd $(DIST_VENV) && bin/python $(CURDIR)/tools/check_dist.py imports

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis site docs/_generated dist build
