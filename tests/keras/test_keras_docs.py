"""docs/keras.md: the ``python`` blocks run in order in one namespace (torch backend), the
``python tensorflow`` blocks likewise on the TensorFlow backend, and the denominator table is
recomputed from Keras' own loss and metrics and from weightwise.keras on every backend."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from weightwise import keras as wk  # noqa: E402

DOC = Path(__file__).resolve().parents[2] / "docs" / "keras.md"


def _run(blocks: list[str], tag: str) -> None:
    ns: dict[str, Any] = {"__name__": "keras_doc"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC}:{tag}{i}", "exec"), ns)


def test_keras_doc_snippets_run() -> None:
    if keras.backend.backend() != "torch":
        pytest.skip("docs/keras.md is executed with KERAS_BACKEND=torch (it has a torch loop)")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 10
    _run(blocks, "block")


def test_keras_doc_tf_data_snippets_run() -> None:
    if keras.backend.backend() != "tensorflow":
        pytest.skip("the tf.data blocks of docs/keras.md run with KERAS_BACKEND=tensorflow")
    pytest.importorskip("tensorflow")
    blocks = re.findall(r"```python tensorflow\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 5
    _run(blocks, "tf-block")


def test_denominator_table_is_what_keras_and_weightwise_compute() -> None:
    text = DOC.read_text()
    section = text.split("## What each one divides by", 1)[1].split("\n## ", 1)[0]
    code = re.findall(r"```python\n(.*?)```", section, flags=re.S)[0]
    ns: dict[str, Any] = {"np": np, "keras": keras, "wk": wk, "print": lambda *a: None}
    exec(code, ns)
    p, y, s = ns["p"], ns["y_batch"], ns["s"]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    table = {r.split("|")[1].strip(): float(r.split("|")[3]) for r in rows[1:]}

    def f(v: Any) -> float:
        return float(keras.ops.convert_to_numpy(v))

    weighted = keras.metrics.SparseCategoricalCrossentropy()
    weighted.update_state(y, p, sample_weight=s)
    plain = keras.metrics.SparseCategoricalCrossentropy()
    plain.update_state(y, p)
    want = {
        "Keras loss": f(keras.losses.SparseCategoricalCrossentropy()(y, p, sample_weight=s)),
        "Keras `weighted_metrics`": f(weighted.result()),
        "Keras `metrics`": f(plain.result()),
    }
    for red in ("mean", "weighted_mean", "nonzero_mean", "sum"):
        want[f'`reduction="{red}"`'] = f(wk.CrossEntropy(reduction=red)(y, p, sample_weight=s))
    assert len(table) == len(want) == 7
    for key, value in want.items():
        (row,) = [k for k in table if key in k]
        assert table[row] == pytest.approx(value, abs=5e-5), row
