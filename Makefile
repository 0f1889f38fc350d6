# weightwise: `make demo` and `make test` each work from a fresh clone.
# The pinned CPU torch is installed first so that no resolver ever pulls a CUDA build;
# override with `make test TORCH_SPEC="torch==2.5.1"` for another build.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.weightwise-installed
export KERAS_BACKEND ?= torch

.PHONY: install demo test lint typecheck pytest bench clean test-keras-jax test-keras-tf

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

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
