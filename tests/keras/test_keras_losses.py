"""Parity of the weightwise.keras losses with their torch twins and with Keras' own losses.

Runs on whichever Keras backend ``KERAS_BACKEND`` selects (torch by default, JAX in
``make test-keras-jax``). Inputs are channels-last for Keras; the torch twins get the class axis
moved to dim 1.
"""

from __future__ import annotations

import importlib
import itertools
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

from keras_util import to_np64  # noqa: E402

import weightwise  # noqa: E402
from weightwise import keras as wk  # noqa: E402

REDUCTIONS = ["mean", "weighted_mean", "nonzero_mean", "sum", "none"]
ATOL = 1e-5


def twin(name: str) -> Any:
    """A torch twin from weightwise.losses, or a clean skip when it has not landed."""
    try:
        mod = importlib.import_module("weightwise.losses")
        return getattr(mod, name)
    except (ImportError, AttributeError) as err:  # pragma: no cover - depends on the tree
        pytest.skip(f"torch twin weightwise.losses.{name} is not available: {err}")


def t_first(x: np.ndarray) -> torch.Tensor:
    """Channels-last NumPy -> channels-first torch (class axis to dim 1)."""
    return torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 1)))


def close(a: Any, b: Any) -> None:
    an = to_np64(a)
    bn = np.asarray(b.detach().numpy() if isinstance(b, torch.Tensor) else b, dtype=np.float64)
    assert an.shape == bn.shape, (an.shape, bn.shape)
    np.testing.assert_allclose(an, bn, rtol=ATOL, atol=ATOL)


def softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return (1 / (1 + np.exp(-x))).astype(np.float32)


SHAPES = [(6, 4), (3, 5, 4, 3)]  # (N, C) and dense (N, H, W, C)


def weights_for(rng: np.random.Generator, grid: tuple[int, ...]) -> list[np.ndarray | None]:
    """None, a per-sample (N,) weight with a zero, and (for dense grids) a per-pixel map."""
    ws: list[np.ndarray | None] = [None]
    w = rng.uniform(0.0, 3.0, size=grid[:1]).astype(np.float32)
    w[0] = 0.0
    ws.append(w)
    if len(grid) > 1:
        pix = rng.uniform(0.0, 3.0, size=grid).astype(np.float32)
        pix.reshape(-1)[:3] = 0.0
        ws.append(pix)
    return ws


# ---- CrossEntropy ----------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("target_kind", ["sparse", "sparse1", "onehot", "soft"])
def test_cross_entropy_matches_torch_twin(shape: tuple[int, ...], target_kind: str) -> None:
    cross_entropy = twin("cross_entropy")
    rng = np.random.default_rng(hash((shape, target_kind)) % 2**32)
    c = shape[-1]
    grid = shape[:-1]
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    y = rng.integers(0, c, size=grid)
    if target_kind == "sparse":
        yk: np.ndarray = y
        yt: torch.Tensor = torch.from_numpy(y)
    elif target_kind == "sparse1":
        yk = y[..., None].astype(np.float32)  # Keras often hands labels over as float (N, 1)
        yt = torch.from_numpy(y)
    elif target_kind == "onehot":
        yk = np.eye(c, dtype=np.float32)[y]
        yt = t_first(yk)
    else:
        yk = softmax(rng.standard_normal(shape).astype(np.float32))
        yt = t_first(yk)
    cw_vec = rng.uniform(0.2, 3.0, size=c).astype(np.float32)
    cw_vec[1] = 0.0
    sparse = target_kind.startswith("sparse")
    ignores = [None, 2] if sparse else [None]
    for red, w, cw, smoothing, ignore, from_logits in itertools.product(
        REDUCTIONS, weights_for(rng, grid), [None, cw_vec], [0.0, 0.1], ignores, [True, False]
    ):
        loss = wk.CrossEntropy(
            from_logits=from_logits,
            class_weight=cw,
            ignore_class=ignore,
            label_smoothing=smoothing,
            reduction=red,
        )
        pred = x if from_logits else softmax(x)
        got = loss(yk, pred, sample_weight=w)
        want = cross_entropy(
            t_first(x),
            yt,
            sample_weight=None if w is None else torch.from_numpy(w),
            class_weight=None if cw is None else torch.from_numpy(cw),
            ignore_index=ignore,
            label_smoothing=smoothing,
            reduction=red,
        )
        close(got, want)


def test_cross_entropy_class_weight_dict_equals_vector() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    a = wk.CrossEntropy(from_logits=True, class_weight={0: 1.0, 1: 4.0, 2: 1.0})(y, x)
    b = wk.CrossEntropy(from_logits=True, class_weight=[1.0, 4.0, 1.0])(y, x)
    close(a, to_np64(b))
    # A class without an entry is an error, as in Keras' fit(class_weight=) and our estimators.
    with pytest.raises(ValueError, match=r"class_weight has no entry for class 0"):
        wk.CrossEntropy(from_logits=True, class_weight={1: 4.0})(y, x)


@pytest.mark.parametrize("dense", [False, True])
def test_cross_entropy_mean_equals_keras_sum_over_batch_size(dense: bool) -> None:
    rng = np.random.default_rng(1)
    shape = (4, 3, 2, 5) if dense else (7, 5)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.integers(0, 5, size=shape[:-1])
    w = rng.uniform(0, 2, size=shape[:-1]).astype(np.float32)
    for from_logits in (True, False):
        pred = x if from_logits else softmax(x)
        ours = wk.CrossEntropy(from_logits=from_logits)(y, pred, sample_weight=w)
        theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=from_logits)(
            y, pred, sample_weight=w
        )
        close(ours, to_np64(theirs))
        onehot = np.eye(5, dtype=np.float32)[y]
        ours_s = wk.CrossEntropy(from_logits=from_logits, label_smoothing=0.2)(
            onehot, pred, sample_weight=w
        )
        theirs_s = keras.losses.CategoricalCrossentropy(
            from_logits=from_logits, label_smoothing=0.2
        )(onehot, pred, sample_weight=w)
        close(ours_s, to_np64(theirs_s))


def test_cross_entropy_reproduces_keras2_and_keras3_formulas() -> None:
    rng = np.random.default_rng(2)
    x = rng.standard_normal((10, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=10)
    w = rng.uniform(0, 2, size=10).astype(np.float32)
    w[[1, 4, 7]] = 0.0
    per = to_np64(wk.CrossEntropy(from_logits=True, reduction="none")(y, x))
    keras2 = np.mean(w * per) / np.mean(w != 0)
    keras3 = np.sum(w * per) / w.size
    close(wk.CrossEntropy(from_logits=True, reduction="nonzero_mean")(y, x, w), keras2)
    close(wk.CrossEntropy(from_logits=True, reduction="mean")(y, x, w), keras3)


# ---- BinaryCrossEntropy ----------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(7,), (6, 4), (3, 4, 5, 2)])
def test_binary_cross_entropy_matches_torch_twin(shape: tuple[int, ...]) -> None:
    binary_cross_entropy = twin("binary_cross_entropy")
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    hard = (rng.random(shape) > 0.6).astype(np.float32)
    soft = rng.random(shape).astype(np.float32)
    c = shape[-1] if len(shape) >= 2 else 1
    weights: list[np.ndarray | None] = [None, rng.uniform(0, 2, size=shape[:1]).astype(np.float32)]
    if len(shape) >= 2:
        weights.append(rng.uniform(0, 2, size=(shape[0], c)).astype(np.float32))
        weights.append(rng.uniform(0, 2, size=shape).astype(np.float32))
    if len(shape) >= 3:
        weights.append(rng.uniform(0, 2, size=shape[:-1]).astype(np.float32))  # per pixel
    label_w: list[Any] = [None, 2.5]
    if len(shape) >= 2:
        label_w.append(rng.uniform(0, 3, size=c).astype(np.float32))
    for red, t, w, pw, nw, from_logits in itertools.product(
        REDUCTIONS, [hard, soft], weights, label_w, [None, 0.5], [True, False]
    ):
        loss = wk.BinaryCrossEntropy(
            from_logits=from_logits, pos_weight=pw, neg_weight=nw, reduction=red
        )
        pred = x if from_logits else sigmoid(x)
        got = loss(t, pred, sample_weight=w)
        want = binary_cross_entropy(
            t_first(x) if len(shape) >= 2 else torch.from_numpy(x),
            t_first(t) if len(shape) >= 2 else torch.from_numpy(t),
            sample_weight=None if w is None else _bce_weight_torch(w, shape),
            pos_weight=None if pw is None else torch.as_tensor(pw),
            neg_weight=None if nw is None else torch.as_tensor(nw),
            reduction=red,
        )
        if red == "none" and len(shape) >= 2:
            want = want.movedim(1, -1)
        close(got, want)


def _bce_weight_torch(w: np.ndarray, shape: tuple[int, ...]) -> torch.Tensor:
    """The same weight for the channels-first twin: only the full grid needs moving."""
    if w.shape == shape and len(shape) >= 2:
        return t_first(w)
    return torch.from_numpy(w)


def test_binary_cross_entropy_mean_equals_keras() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((9, 4)).astype(np.float32)
    t = (rng.random((9, 4)) > 0.5).astype(np.float32)
    w = rng.uniform(0, 2, size=9).astype(np.float32)
    for from_logits in (True, False):
        pred = x if from_logits else sigmoid(x)
        ours = wk.BinaryCrossEntropy(from_logits=from_logits)(t, pred, sample_weight=w)
        theirs = keras.losses.BinaryCrossentropy(from_logits=from_logits)(t, pred, sample_weight=w)
        close(ours, to_np64(theirs))


def test_binary_mask_without_channel_axis() -> None:
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 4, 4, 1)).astype(np.float32)
    m = (rng.random((2, 4, 4)) > 0.5).astype(np.float32)
    pix = rng.uniform(0, 2, size=(2, 4, 4)).astype(np.float32)
    loss = wk.BinaryCrossEntropy(from_logits=True)
    close(loss(m, x, pix), to_np64(loss(m[..., None], x, pix)))


# ---- Focal, BinaryFocal, AnyOf, LogitAdjusted ------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_focal_matches_torch_twin(shape: tuple[int, ...]) -> None:
    focal_loss = twin("focal_loss")
    rng = np.random.default_rng(5)
    c, grid = shape[-1], shape[:-1]
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    y = rng.integers(0, c, size=grid)
    alpha = rng.uniform(0.1, 1.0, size=c).astype(np.float32)
    cw = rng.uniform(0.0, 2.0, size=c).astype(np.float32)
    for red, w, a, k, ignore, gamma, from_logits in itertools.product(
        REDUCTIONS,
        weights_for(rng, grid),
        [None, alpha],
        [None, cw],
        [None, 1],
        [0.0, 2.0],
        [True, False],
    ):
        loss = wk.Focal(
            gamma=gamma,
            alpha=a,
            class_weight=k,
            ignore_class=ignore,
            from_logits=from_logits,
            reduction=red,
        )
        got = loss(y, x if from_logits else softmax(x), sample_weight=w)
        want = focal_loss(
            t_first(x),
            torch.from_numpy(y),
            gamma=gamma,
            alpha=None if a is None else torch.from_numpy(a),
            class_weight=None if k is None else torch.from_numpy(k),
            ignore_index=ignore,
            sample_weight=None if w is None else torch.from_numpy(w),
            reduction=red,
        )
        close(got, want)
        if ignore is None:  # one-hot targets give the sparse value
            onehot = np.eye(c, dtype=np.float32)[y]
            close(loss(onehot, x if from_logits else softmax(x), sample_weight=w), want)


def test_focal_equals_keras_categorical_focal() -> None:
    rng = np.random.default_rng(6)
    x = rng.standard_normal((8, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=8)
    onehot = np.eye(3, dtype=np.float32)[y]
    ours = wk.Focal(gamma=2.0, alpha=[0.25] * 3, from_logits=True)(y, x)
    theirs = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, gamma=2.0, from_logits=True)(
        onehot, x
    )
    close(ours, to_np64(theirs))


@pytest.mark.parametrize("shape", [(7,), (6, 4), (2, 3, 4, 2)])
def test_binary_focal_matches_torch_twin(shape: tuple[int, ...]) -> None:
    binary_focal_loss = twin("binary_focal_loss")
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(shape) * 2).astype(np.float32)
    t = rng.random(shape).astype(np.float32)
    t[..., 0] = np.round(t[..., 0])
    w_list: list[np.ndarray | None] = [None, rng.uniform(0, 2, size=shape[:1]).astype(np.float32)]
    if len(shape) >= 3:
        w_list.append(rng.uniform(0, 2, size=shape[:-1]).astype(np.float32))
    for red, w, alpha, pw, gamma, from_logits in itertools.product(
        REDUCTIONS, w_list, [None, 0.25], [None, 3.0], [0.0, 2.0], [True, False]
    ):
        loss = wk.BinaryFocal(
            gamma=gamma, alpha=alpha, pos_weight=pw, from_logits=from_logits, reduction=red
        )
        got = loss(t, x if from_logits else sigmoid(x), sample_weight=w)
        want = binary_focal_loss(
            t_first(x) if len(shape) >= 2 else torch.from_numpy(x),
            t_first(t) if len(shape) >= 2 else torch.from_numpy(t),
            gamma=gamma,
            alpha=alpha,
            pos_weight=pw,
            sample_weight=None if w is None else torch.from_numpy(w),
            reduction=red,
        )
        if red == "none" and len(shape) >= 2:
            want = want.movedim(1, -1)
        close(got, want)


@pytest.mark.parametrize("mode", ["marginal", "max"])
def test_any_of_matches_torch_twin(mode: str) -> None:
    any_of_cross_entropy = twin("any_of_cross_entropy")
    rng = np.random.default_rng(8)
    for shape in SHAPES:
        x = (rng.standard_normal(shape) * 2).astype(np.float32)
        sets = rng.random(shape) > 0.6
        sets[..., 0] |= ~sets.any(axis=-1)
        for red, w in itertools.product(REDUCTIONS, weights_for(rng, shape[:-1])):
            got = wk.AnyOf(mode=mode, from_logits=True, reduction=red)(sets, x, sample_weight=w)
            want = any_of_cross_entropy(
                t_first(x),
                t_first(sets),
                mode=mode,
                sample_weight=None if w is None else torch.from_numpy(w),
                reduction=red,
            )
            close(got, want)


def test_logit_adjusted_matches_torch_twin() -> None:
    logit_adjusted_cross_entropy = twin("logit_adjusted_cross_entropy")
    rng = np.random.default_rng(9)
    counts = np.array([50.0, 10.0, 3.0, 1.0])
    for shape in SHAPES:
        c, grid = shape[-1], shape[:-1]
        counts_c = counts[:c] if c <= 4 else np.arange(1.0, c + 1)
        x = rng.standard_normal(shape).astype(np.float32)
        y = rng.integers(0, c, size=grid)
        cw = rng.uniform(0.1, 2, size=c).astype(np.float32)
        for red, w, tau, k in itertools.product(
            REDUCTIONS, weights_for(rng, grid), [0.0, 1.0, 1.5], [None, cw]
        ):
            got = wk.LogitAdjusted(
                counts=counts_c, tau=tau, class_weight=k, from_logits=True, reduction=red
            )(y, x, sample_weight=w)
            want = logit_adjusted_cross_entropy(
                t_first(x),
                torch.from_numpy(y),
                counts=counts_c,
                tau=tau,
                class_weight=None if k is None else torch.from_numpy(k),
                sample_weight=None if w is None else torch.from_numpy(w),
                reduction=red,
            )
            close(got, want)


# ---- bad input ---------------------------------------------------------------------------------


def test_class_weight_dict_with_class_out_of_range() -> None:
    x = np.zeros((4, 3), dtype=np.float32)
    y = np.array([0, 1, 2, 0])
    with pytest.raises(ValueError, match=r"class_weight.*outside \[0, 3\).*5"):
        wk.CrossEntropy(from_logits=True, class_weight={0: 1.0, 1: 1.0, 2: 1.0, 5: 2.0})(y, x)
    with pytest.raises(ValueError, match="class_weight"):
        wk.CrossEntropy(class_weight={-1: 1.0})


@pytest.mark.parametrize(
    "make",
    [
        lambda: wk.CrossEntropy(from_logits=True),
        lambda: wk.BinaryCrossEntropy(from_logits=True),
        lambda: wk.Focal(from_logits=True),
    ],
)
def test_weight_of_wrong_shape(make: Any) -> None:
    x = np.zeros((4, 3), dtype=np.float32)
    y = (
        np.array([0, 1, 2, 0])
        if not isinstance(make(), wk.BinaryCrossEntropy)
        else np.zeros_like(x)
    )
    for bad in (np.ones((4, 1), np.float32), np.ones((3,), np.float32)):
        with pytest.raises(ValueError, match=r"sample_weight of shape"):
            make()(y, x, sample_weight=bad)


def test_probabilities_out_of_range_with_checks_on() -> None:
    p = np.array([[0.5, 0.7], [0.2, 0.8]], dtype=np.float32)
    bad = p.copy()
    bad[1, 0] = -0.2
    with pytest.raises(ValueError, match=r"y_pred.*\[0, 1\].*-0\.2.*\(1, 0\)"):
        wk.CrossEntropy()(np.array([0, 1]), bad)
    with pytest.raises(ValueError, match=r"y_pred.*\[0, 1\].*1\.5"):
        wk.BinaryCrossEntropy()(np.array([0.0, 1.0]), np.array([0.2, 1.5], np.float32))
    with weightwise.no_checks():
        wk.CrossEntropy()(np.array([0, 1]), bad)  # value checks off: no error


def test_other_bad_values() -> None:
    x = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(ValueError, match=r"y_true must be in \[0, 2\).*7"):
        wk.CrossEntropy(from_logits=True)(np.array([0, 7, 1]), x)
    with pytest.raises(ValueError, match=r"sample_weight must be finite and non-negative.*-1"):
        wk.CrossEntropy(from_logits=True)(np.array([0, 1, 1]), x, np.array([1.0, -1.0, 1.0]))
    with pytest.raises(ValueError, match="reduction"):
        wk.CrossEntropy(reduction="sum_over_batch_size")
    with pytest.raises(ValueError, match="ignore_class"):
        wk.CrossEntropy(ignore_class=0)(np.eye(2, dtype=np.float32)[[0, 1, 1]], x + 0.5)
    with pytest.raises(ValueError, match="exactly one of prior and counts"):
        wk.LogitAdjusted(prior=[0.5, 0.5], counts=[1, 1])
    with pytest.raises(ValueError, match="y_true must allow at least one class"):
        wk.AnyOf(from_logits=True)(np.array([[True, False], [False, False], [True, True]]), x)


def test_call_returns_class_weighted_elements() -> None:
    rng = np.random.default_rng(10)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=5)
    loss = wk.CrossEntropy(from_logits=True, class_weight=[1.0, 2.0, 3.0], reduction="sum")
    close(
        loss.call(y, x),
        to_np64(wk.CrossEntropy(from_logits=True, class_weight=[1, 2, 3], reduction="none")(y, x)),
    )
    cfg = loss.get_config()
    again = wk.CrossEntropy.from_config(cfg)
    close(again(y, x), to_np64(loss(y, x)))


# ---- Dice ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["binary", "multiclass", "soft", "multilabel"])
def test_dice_matches_torch_twin(mode: str) -> None:
    dice_loss = twin("dice_loss")
    rng = np.random.default_rng(11)
    n, h, wd = 3, 4, 5
    c = 1 if mode == "binary" else 3
    x = (rng.standard_normal((n, h, wd, c)) * 2).astype(np.float32)
    if mode == "binary":
        yk: np.ndarray = (rng.random((n, h, wd)) > 0.6).astype(np.float32)
        yk[0] = 0.0  # an empty sample
        yt = torch.from_numpy(yk)
    elif mode == "multiclass":
        yk = rng.integers(0, c, size=(n, h, wd))
        yk[1][yk[1] == 2] = 0  # class 2 empty in sample 1
        yt = torch.from_numpy(yk)
    elif mode == "soft":
        yk = softmax(rng.standard_normal((n, h, wd, c)).astype(np.float32))
        yt = t_first(yk)
    else:
        yk = (rng.random((n, h, wd, c)) > 0.5).astype(np.float32)
        yt = t_first(yk)
    weights: list[np.ndarray | None] = [
        None,
        np.array([1.0, 0.0, 2.5], np.float32),
        rng.uniform(0, 2, size=(n, h, wd)).astype(np.float32),
    ]
    cws: list[Any] = [None] if c == 1 else [None, np.array([0.5, 1.0, 2.0], np.float32)]
    twin_mode = "multiclass" if mode == "soft" else mode
    for red, w, cw, pooling, empty, (background, from_logits) in itertools.product(
        REDUCTIONS,
        weights,
        cws,
        ["sample", "batch"],
        ["skip", "zero"],
        [(True, True), (False, False)],
    ):
        if pooling == "batch" and red not in ("mean", "none"):
            continue  # batch pooling has no per-sample reduction
        loss = wk.Dice(
            mode=twin_mode,
            from_logits=from_logits,
            class_weight=cw,
            pooling=pooling,
            empty=empty,
            include_background=background,
            reduction=red,
        )
        if from_logits:
            pred = x
        elif c == 1 or mode == "multilabel":
            pred = sigmoid(x)
        else:
            pred = softmax(x)
        got = loss(yk, pred, sample_weight=w)
        want = dice_loss(
            t_first(x),
            yt,
            mode=twin_mode,
            pooling=pooling,
            empty=empty,
            include_background=background,
            reduction=red,
            sample_weight=None if w is None else torch.from_numpy(w),
            class_weight=None if cw is None else torch.from_numpy(cw),
        )
        close(got, want)


def test_dice_ignore_class_matches_torch_twin() -> None:
    dice_loss = twin("dice_loss")
    rng = np.random.default_rng(12)
    x = rng.standard_normal((2, 4, 4, 3)).astype(np.float32)
    y = rng.integers(0, 3, size=(2, 4, 4))
    y[:, 0] = 255
    for red in REDUCTIONS:
        got = wk.Dice(from_logits=True, ignore_class=255, reduction=red)(y, x)
        want = dice_loss(t_first(x), torch.from_numpy(y), ignore_index=255, reduction=red)
        close(got, want)
