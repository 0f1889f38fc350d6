"""The worked example of docs/semantics.md: every number is recomputed here by the library the
row names (Keras 3, PyTorch, scikit-learn, weightwise) and compared with the printed value."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import log_loss

from weightwise.losses import cross_entropy

os.environ.setdefault("KERAS_BACKEND", "torch")

DOC = Path(__file__).resolve().parents[1] / "docs" / "semantics.md"

P = np.array([[0.8, 0.2], [0.5, 0.5], [0.25, 0.75]])
Y = np.array([0, 1, 1])
S = np.array([1.0, 0.0, 3.0])
CW = np.array([1.0, 3.0])
OMEGA = S * CW[Y]


def _printed() -> dict[str, float]:
    text = DOC.read_text()
    block = text.split("<!-- worked-example:start -->")[1].split("<!-- worked-example:end -->")[0]
    rows = {}
    for line in block.splitlines():
        m = re.match(r"\|\s*(\w+)\s*\|.*\|\s*([0-9.]+)\s*\|\s*$", line)
        if m and m.group(1) != "key":
            rows[m.group(1)] = float(m.group(2))
    return rows


def _computed() -> dict[str, float]:
    keras = pytest.importorskip("keras")
    x = torch.tensor(np.log(P))
    y = torch.tensor(Y)
    s = torch.tensor(S)
    cw = torch.tensor(CW)
    onehot = F.one_hot(y, 2).double()
    L = -np.log(P[np.arange(3), Y])

    def ww(reduction: str, **kw) -> float:
        return cross_entropy(x, kw.pop("target", y), reduction=reduction, **kw).item()

    k3 = keras.losses.SparseCategoricalCrossentropy()(Y, P, sample_weight=OMEGA)
    return {
        "keras3": float(keras.ops.convert_to_numpy(k3)),
        "ww_mean": ww("mean", sample_weight=s, class_weight=cw),
        "keras2": float(np.mean(OMEGA * L) / np.mean(OMEGA != 0)),
        "ww_nonzero_mean": ww("nonzero_mean", sample_weight=s, class_weight=cw),
        "sklearn": float(log_loss(Y, P, sample_weight=OMEGA)),
        "ww_weighted_mean": ww("weighted_mean", sample_weight=s, class_weight=cw),
        "ww_sum": ww("sum", sample_weight=s, class_weight=cw),
        "torch_hand_sum_s": (
            (F.cross_entropy(x, y, weight=cw, reduction="none") * s).sum() / s.sum()
        ).item(),
        "torch_cw": F.cross_entropy(x, y, weight=cw).item(),
        "torch_cw_onehot": F.cross_entropy(x, onehot, weight=cw).item(),
        "ww_cw_onehot": ww("weighted_mean", target=onehot, class_weight=cw),
    }


def test_worked_example_numbers_match_the_libraries():
    printed = _printed()
    computed = _computed()
    assert set(printed) == set(computed)
    for key, value in computed.items():
        assert round(value, 4) == pytest.approx(printed[key], abs=1e-12), key


def test_worked_example_closed_forms():
    # The same numbers from the definitions, independent of every library.
    L = -np.log(P[np.arange(3), Y])
    total = float(np.sum(OMEGA * L))
    printed = _printed()
    assert round(total / 3, 4) == printed["ww_mean"]
    assert round(total / 2, 4) == printed["ww_nonzero_mean"]
    assert round(total / OMEGA.sum(), 4) == printed["ww_weighted_mean"]
    assert round(float(np.sum(CW[Y] * L) / np.sum(CW[Y])), 4) == printed["torch_cw"]
