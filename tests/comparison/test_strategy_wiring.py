"""Every strategy reaches the loss, the sampler and the decision step as documented.

Each strategy is run for a few epochs with the library's losses, sampler and post-hoc
adjustment wrapped to record what they receive (the calls go through unchanged). The expected
class weights are the closed forms of the papers, written here from the training counts:
balanced ``n/(K·n_c)`` (King & Zeng 2001), inverse square root, effective number
``(1 − β)/(1 − β^{n_c})`` (Cui et al. 2019), each normalised so that ``Σ n_c·w_c = N``. A
strategy that silently trains as another (``balanced`` without its weights, ``focal`` with
γ = 0, ``resample`` without its sampler, LDAM without deferred re-weighting, …) fails here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch

import weightwise.data
import weightwise.decision
import weightwise.losses
from weightwise.comparison import STRATEGIES, compare

COUNTS = np.array([40, 12, 4])
EPOCHS = 5
SWITCH = 4  # ldam_drw re-weights from round(0.8 · EPOCHS)
BETA = 0.999
LOSSES = ("cross_entropy", "focal_loss", "logit_adjusted_cross_entropy", "ldam_loss")


def _normalised(w: np.ndarray) -> np.ndarray:
    return w * COUNTS.sum() / (COUNTS * w).sum()


_eff = (1 - BETA) / (1 - BETA**COUNTS)
#: Cao et al.'s DRW weights: effective number, mean 1 over the classes, from SWITCH on.
DRW_CW = _eff * len(COUNTS) / _eff.sum()

EXPECTED_CW = {
    "balanced": _normalised(COUNTS.sum() / (len(COUNTS) * COUNTS)),
    "inverse_sqrt": _normalised(1 / np.sqrt(COUNTS)),
    "effective": _normalised((1 - BETA) / (1 - BETA**COUNTS)),
}

# strategy: (loss function, class weights, effective gamma, sampler power, post-hoc prior)
PRIOR = COUNTS / COUNTS.sum()
WIRING: dict[str, tuple[str, Any, float | None, float | None, Any]] = {
    "none": ("cross_entropy", None, None, None, None),
    "balanced": ("cross_entropy", EXPECTED_CW["balanced"], None, None, None),
    "inverse_sqrt": ("cross_entropy", EXPECTED_CW["inverse_sqrt"], None, None, None),
    "effective": ("cross_entropy", EXPECTED_CW["effective"], None, None, None),
    "focal": ("focal_loss", None, 2.0, None, None),
    "cb_focal": ("focal_loss", EXPECTED_CW["effective"], 2.0, None, None),
    "resample": ("cross_entropy", None, None, 0.0, None),
    "sqrt_resample": ("cross_entropy", None, None, 0.5, None),
    "logit_adjusted": ("logit_adjusted_cross_entropy", None, None, None, None),
    "posthoc_adjusted": ("cross_entropy", None, None, None, PRIOR),
    "ldam_drw": ("ldam_loss", "drw", None, None, None),
}


def test_every_strategy_is_listed():
    assert set(WIRING) | {"pos_weight"} == set(STRATEGIES)


def test_pos_weight_is_bce_pos_weight(monkeypatch):
    # Binary: class weights (1, n_neg/n_pos) on 2-logit softmax CE, i.e. BCE's pos_weight on
    # z_1 - z_0 (the mean reduction keeps its scale).
    seen: list[Any] = []
    real = weightwise.losses.cross_entropy

    def spy(logits, target, **kw):
        if logits.requires_grad:
            seen.append(kw.get("class_weight"))
            kw_r = kw.get("reduction", "mean")
            assert kw_r == "mean"
        return real(logits, target, **kw)

    monkeypatch.setattr(weightwise.losses, "cross_entropy", spy)
    rng = np.random.default_rng(0)

    def split(counts):
        y = np.repeat([0, 1], counts)
        return rng.normal(size=(len(y), 3)).astype(np.float32) + y[:, None], y

    compare(split([48, 12]), split([10, 10]), split([10, 10]), strategies=["pos_weight"],
            epochs=2, n_boot=20)  # fmt: skip
    assert seen
    for cw in seen:
        np.testing.assert_allclose(torch.as_tensor(cw).numpy(), [1.0, 48 / 12])


def _data(rng):
    def split(counts):
        y = np.repeat(np.arange(3), counts)
        X = rng.normal(size=(len(y), 3)).astype(np.float32) + y[:, None]
        return X, y

    return split(COUNTS), split([10, 10, 10]), split([10, 10, 10])


@pytest.mark.parametrize("strategy", sorted(WIRING))
def test_strategy_wiring(strategy, monkeypatch, spy_losses):
    calls = spy_losses(LOSSES)

    powers: list[float] = []
    real_sampler = weightwise.data.ClassBalancedSampler

    class SpySampler(real_sampler):  # type: ignore[misc,valid-type]
        def __init__(self, labels, *, power, **kw):
            powers.append(power)
            assert np.bincount(np.asarray(labels)).tolist() == COUNTS.tolist()
            super().__init__(labels, power=power, **kw)

    monkeypatch.setattr(weightwise.data, "ClassBalancedSampler", SpySampler)

    priors: list[np.ndarray] = []
    real_adjust = weightwise.decision.posthoc_logit_adjust

    def spy_adjust(logits, *, prior, **kw):
        priors.append(np.asarray(prior))
        return real_adjust(logits, prior=prior, **kw)

    monkeypatch.setattr(weightwise.decision, "posthoc_logit_adjust", spy_adjust)

    rng = np.random.default_rng(0)
    compare(*_data(rng), strategies=[strategy], epochs=EPOCHS, n_boot=20, batch_size=16)

    loss, cw, gamma, power, prior = WIRING[strategy]
    assert calls and {n for n, _ in calls} == {loss}, {n for n, _ in calls}
    n_batches = -(-COUNTS.sum() // 16)
    assert len(calls) == EPOCHS * n_batches  # every training batch goes through that loss
    for i, (_, args) in enumerate(calls):
        got = args.get("class_weight")
        epoch = i // n_batches
        want = cw
        if isinstance(cw, str):
            want = np.ones(3) if epoch < SWITCH else DRW_CW
        if want is None:
            assert got is None, (strategy, got)
        else:
            assert got is not None, f"{strategy} trained without class weights"
            np.testing.assert_allclose(torch.as_tensor(got).double().numpy(), want, rtol=1e-5)
        if gamma is not None:
            assert args["gamma"] == gamma
        if loss in ("logit_adjusted_cross_entropy", "ldam_loss"):
            assert np.asarray(args["counts"]).tolist() == COUNTS.tolist()
        if loss == "logit_adjusted_cross_entropy":
            assert args["tau"] == 1.0
        if loss == "ldam_loss":
            assert args["scale"] == 30.0
    assert powers == ([] if power is None else [power] * EPOCHS)
    if prior is None:
        assert priors == []
    else:
        assert priors, f"{strategy} never adjusted its logits"
        for p in priors:
            np.testing.assert_allclose(p, prior)
