"""Class-weight estimators against scikit-learn, closed forms and hand-computed cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.utils.class_weight import compute_class_weight

import weightwise
from weightwise.weights import SCHEMES, class_weights, multilabel_weights

RNG = np.random.default_rng(0)


# --- strategies -------------------------------------------------------------------------------

positive_counts = st.lists(st.integers(1, 10**6), min_size=1, max_size=8)
counts_with_zeros = st.lists(st.integers(0, 10**6), min_size=1, max_size=8).filter(
    lambda c: sum(c) > 0
)
label_vectors = st.lists(st.integers(0, 5), min_size=1, max_size=60)


# --- balanced: scikit-learn is the oracle ------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(label_vectors)
def test_balanced_matches_sklearn(labels: list[int]) -> None:
    y = np.asarray(labels)
    present = np.unique(y)
    expected = compute_class_weight("balanced", classes=present, y=y)
    if present.size == y.max() + 1:
        got = class_weights(y)
        np.testing.assert_allclose(got, expected, rtol=1e-12)
    # with absent classes, absent="zero" gives sklearn's weights over the present classes
    got = class_weights(y, num_classes=7, absent="zero")
    np.testing.assert_allclose(got[present], expected, rtol=1e-12)
    assert np.all(got[np.setdiff1d(np.arange(7), present)] == 0)


def test_balanced_same_under_samples_and_none() -> None:
    y = RNG.integers(0, 4, size=200)
    np.testing.assert_allclose(class_weights(y), class_weights(y, normalize="none"), rtol=1e-12)


@pytest.mark.parametrize(
    "convert",
    [
        list,
        np.asarray,
        lambda a: np.asarray(a, dtype=np.float32),
        lambda a: np.asarray(a, dtype=np.uint8),
        lambda a: torch.as_tensor(a),
        lambda a: pd.Series(a),
    ],
    ids=["list", "numpy", "float32", "uint8", "torch", "pandas"],
)
def test_input_types_give_the_same_weights(convert: object) -> None:
    labels = [0, 0, 1, 2, 2, 2, 1, 0, 0]
    expected = compute_class_weight("balanced", classes=np.arange(3), y=np.asarray(labels))
    got = class_weights(convert(labels))  # type: ignore[operator]
    assert isinstance(got, np.ndarray) and got.dtype == np.float64 and got.shape == (3,)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    counts = convert([4, 2, 3])  # type: ignore[operator]
    np.testing.assert_allclose(class_weights(counts=counts), expected, rtol=1e-12)


def test_labels_of_any_shape_are_counted_elementwise() -> None:
    masks = RNG.integers(0, 3, size=(2, 5, 7))
    expected = compute_class_weight("balanced", classes=np.arange(3), y=masks.ravel())
    np.testing.assert_allclose(class_weights(masks), expected, rtol=1e-12)


def test_package_level_name_is_the_estimator() -> None:
    assert weightwise.class_weights is class_weights
    from weightwise.weights._class import class_weights as direct

    assert direct is class_weights


def test_schemes_tuple() -> None:
    assert SCHEMES == (
        "balanced",
        "inverse",
        "inverse_sqrt",
        "power",
        "effective",
        "median_frequency",
        "none",
    )


# --- closed forms --------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(positive_counts, st.sampled_from([0.0, 0.5, 0.9, 0.99, 0.999, 0.9999]))
def test_effective_matches_cui_closed_form(counts: list[int], beta: float) -> None:
    n = np.asarray(counts, dtype=np.float64)
    # Cui et al. (2019), eq. for the class-balanced term: (1 - β) / (1 - β^n_c),
    # then rescaled so that the weights sum to the number of classes
    raw = (1.0 - beta) / (1.0 - np.power(beta, n))
    expected = raw * n.size / raw.sum()
    got = class_weights(counts=counts, scheme="effective", beta=beta, normalize="classes")
    np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert got.sum() == pytest.approx(n.size, rel=1e-12)
    raw_got = class_weights(counts=counts, scheme="effective", beta=beta, normalize="none")
    np.testing.assert_allclose(raw_got, raw, rtol=1e-9)


@settings(max_examples=40, deadline=None)
@given(positive_counts, st.floats(0.0, 3.0))
def test_power_family_closed_forms(counts: list[int], q: float) -> None:
    n = np.asarray(counts, dtype=np.float64)

    def raw(scheme: str, power: float = 1.0) -> np.ndarray:
        return class_weights(counts=counts, scheme=scheme, normalize="none", power=power)

    np.testing.assert_allclose(raw("inverse"), 1.0 / n, rtol=1e-12)
    np.testing.assert_allclose(raw("inverse_sqrt"), 1.0 / np.sqrt(n), rtol=1e-12)
    np.testing.assert_allclose(raw("power", power=q), n**-q, rtol=1e-9)
    np.testing.assert_allclose(raw("power", power=1.0), raw("inverse"), rtol=1e-12)
    np.testing.assert_allclose(raw("power", power=0.5), raw("inverse_sqrt"), rtol=1e-12)
    np.testing.assert_allclose(raw("none"), np.ones_like(n))


def test_median_frequency_from_labels_by_hand() -> None:
    # counts 6, 3, 1 of N = 10: freq = 0.6, 0.3, 0.1, median 0.3
    # raw w = 0.3/0.6, 0.3/0.3, 0.3/0.1 = 0.5, 1, 3
    y = [0] * 6 + [1] * 3 + [2]
    got = class_weights(y, scheme="median_frequency", normalize="none")
    np.testing.assert_allclose(got, [0.5, 1.0, 3.0], rtol=1e-12)
    # normalize="samples": Σ n_c w_c = 6·0.5 + 3·1 + 1·3 = 9 must become 10, factor 10/9
    got = class_weights(y, scheme="median_frequency")
    np.testing.assert_allclose(got, np.array([0.5, 1.0, 3.0]) * 10 / 9, rtol=1e-12)


def test_median_frequency_per_image_counts_by_hand() -> None:
    # pixels of classes 0, 1, 2 in three images; class 2 is absent from image 1
    counts = np.array(
        [
            [6, 2, 2],  # image 0: total 10
            [3, 7, 0],  # image 1: total 10 (no class 2)
            [4, 1, 15],  # image 2: total 20
        ]
    )
    # freq_0 = 13 / (10 + 10 + 20) = 0.325
    # freq_1 = 10 / (10 + 10 + 20) = 0.25
    # freq_2 = 17 / (10 + 20)      = 17/30  (image 1 does not count: class 2 is not in it)
    # median = 0.325, so w = 1, 0.325/0.25 = 1.3, 0.325·30/17 = 9.75/17
    expected = np.array([1.0, 1.3, 9.75 / 17])
    got = class_weights(counts=counts, scheme="median_frequency", normalize="none")
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the pooled (C,) vector gives the plain frequencies instead: 13/40, 10/40, 17/40
    pooled = class_weights(counts=counts.sum(0), scheme="median_frequency", normalize="none")
    np.testing.assert_allclose(pooled, [1.0, 1.3, 13 / 17], rtol=1e-12)
    # default normalisation: Σ n_c w_c = N = 40 with n = (13, 10, 17)
    got = class_weights(counts=counts, scheme="median_frequency")
    assert float(np.dot([13, 10, 17], got)) == pytest.approx(40.0, rel=1e-12)
    np.testing.assert_allclose(got / got[0], expected, rtol=1e-12)


def test_per_image_counts_are_summed_for_other_schemes() -> None:
    counts = RNG.integers(0, 50, size=(6, 4))
    counts[:, 2] += 1
    for scheme in ("balanced", "inverse", "effective", "none"):
        np.testing.assert_allclose(
            class_weights(counts=counts, scheme=scheme),
            class_weights(counts=counts.sum(axis=0), scheme=scheme),
            rtol=1e-12,
        )


# --- normalisation invariants --------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(counts_with_zeros, st.sampled_from(SCHEMES))
def test_samples_normalisation_mean_sample_weight_is_one(counts: list[int], scheme: str) -> None:
    n = np.asarray(counts, dtype=np.float64)
    w = class_weights(counts=counts, scheme=scheme, absent="zero", beta=0.99, power=0.7)
    assert float(np.dot(n, w)) == pytest.approx(n.sum(), rel=1e-9)
    assert np.all(w[n == 0] == 0) and np.all(w[n > 0] > 0)


@settings(max_examples=50, deadline=None)
@given(counts_with_zeros, st.sampled_from(SCHEMES))
def test_classes_normalisation_mean_over_present_is_one(counts: list[int], scheme: str) -> None:
    n = np.asarray(counts, dtype=np.float64)
    w = class_weights(counts=counts, scheme=scheme, absent="zero", normalize="classes")
    assert float(w.sum()) == pytest.approx(float((n > 0).sum()), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(counts_with_zeros)
def test_balanced_raw_weights_keep_total_with_absent_classes(counts: list[int]) -> None:
    n = np.asarray(counts, dtype=np.float64)
    w = class_weights(counts=counts, absent="zero", normalize="none")
    assert float(np.dot(n, w)) == pytest.approx(n.sum(), rel=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    positive_counts,
    st.integers(2, 1000),
    st.sampled_from(["balanced", "inverse", "inverse_sqrt", "power", "median_frequency"]),
)
def test_scaling_counts_leaves_weights_unchanged(counts: list[int], k: int, scheme: str) -> None:
    n = np.asarray(counts)
    np.testing.assert_allclose(
        class_weights(counts=n * k, scheme=scheme),
        class_weights(counts=n, scheme=scheme),
        rtol=1e-9,
    )


# --- absent classes ------------------------------------------------------------------------------


def test_absent_class_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"class 1 has no samples in y.*absent='zero'"):
        class_weights([0, 2, 2])
    with pytest.raises(ValueError, match=r"classes 1, 3 have no samples in counts"):
        class_weights(counts=[5, 0, 2, 0])
    with pytest.raises(ValueError, match=r"class 3 has no samples"):
        class_weights([0, 1, 2], num_classes=4)


def test_absent_zero() -> None:
    y = [0, 0, 0, 2]  # N = 4, K = 2 present classes
    # balanced over the present classes: 4/(2·3), 0, 4/(2·1)
    np.testing.assert_allclose(class_weights(y, absent="zero"), [2 / 3, 0.0, 2.0])
    np.testing.assert_allclose(class_weights(y, absent="zero", normalize="none"), [2 / 3, 0.0, 2.0])
    # inverse with mean 1 over the two present classes: (1/3, 1) · 2 / (4/3)
    np.testing.assert_allclose(
        class_weights(y, scheme="inverse", absent="zero", normalize="classes"), [0.5, 0.0, 1.5]
    )
    # median frequency over the present classes only: freq 0.75, 0.25, median 0.5
    np.testing.assert_allclose(
        class_weights(y, scheme="median_frequency", absent="zero", normalize="none"),
        [0.5 / 0.75, 0.0, 2.0],
    )
    np.testing.assert_allclose(
        class_weights(y, scheme="none", absent="zero", num_classes=4), [1.0, 0.0, 1.0, 0.0]
    )


# --- multi-label ---------------------------------------------------------------------------------


def test_multilabel_matches_per_column_sklearn() -> None:
    Y = (RNG.random((200, 6)) < np.linspace(0.05, 0.6, 6)).astype(int)
    pos_w, neg_w = multilabel_weights(Y)
    assert pos_w.shape == neg_w.shape == (6,)
    for col in range(6):
        neg, pos = compute_class_weight("balanced", classes=np.array([0, 1]), y=Y[:, col])
        assert pos_w[col] == pytest.approx(pos, rel=1e-12)
        assert neg_w[col] == pytest.approx(neg, rel=1e-12)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_multilabel_is_class_weights_per_label(scheme: str) -> None:
    Y = (RNG.random((50, 4)) < [0.1, 0.3, 0.5, 0.8]).astype(bool)
    for normalize in ("samples", "classes", "none"):
        pos_w, neg_w = multilabel_weights(Y, scheme=scheme, normalize=normalize, beta=0.9)
        for col in range(4):
            w = class_weights(
                Y[:, col].astype(int),
                num_classes=2,
                scheme=scheme,
                normalize=normalize,
                beta=0.9,
                absent="zero",
            )
            np.testing.assert_allclose([neg_w[col], pos_w[col]], w, rtol=1e-12)


def test_multilabel_degenerate_labels() -> None:
    Y = np.array([[0, 1, 1], [0, 1, 0], [0, 1, 1]])
    pos_w, neg_w = multilabel_weights(Y)
    # label 0: no positives; label 1: no negatives
    assert (pos_w[0], neg_w[0]) == (0.0, 1.0)
    assert (pos_w[1], neg_w[1]) == (1.0, 0.0)
    # label 2: 2 positives, 1 negative of 3: balanced 3/(2·2), 3/(2·1)
    assert pos_w[2] == pytest.approx(0.75) and neg_w[2] == pytest.approx(1.5)
    for scheme in ("balanced", "median_frequency", "none", "effective"):
        for normalize in ("samples", "classes"):
            p, n = multilabel_weights(Y, scheme=scheme, normalize=normalize)
            assert (p[0], n[0], p[1], n[1]) == pytest.approx((0.0, 1.0, 1.0, 0.0))


def test_multilabel_counts_path_equals_label_path() -> None:
    Y = (RNG.random((80, 5)) < 0.3).astype(np.float32)
    by_labels = multilabel_weights(torch.as_tensor(Y), scheme="effective", beta=0.99)
    by_counts = multilabel_weights(
        pos_counts=Y.sum(0), num_samples=80, scheme="effective", beta=0.99
    )
    by_vector = multilabel_weights(
        pos_counts=list(Y.sum(0)), num_samples=np.full(5, 80), scheme="effective", beta=0.99
    )
    for a, b, c in zip(by_labels, by_counts, by_vector, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c, rtol=1e-12)


def test_multilabel_per_label_num_samples() -> None:
    # label 0: 2 of 4 positive; label 1: 1 of 10 positive (balanced: N/(2·n_c))
    pos_w, neg_w = multilabel_weights(pos_counts=[2, 1], num_samples=[4, 10])
    np.testing.assert_allclose(pos_w, [4 / 4, 10 / 2])
    np.testing.assert_allclose(neg_w, [4 / 4, 10 / 18])


# --- bad inputs ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        (dict(y=[0, 1, 2, 1, 0, 0, 0, 5], num_classes=3), ["y", "[0, 3)", "5", "index 7"]),
        (dict(y=[0, 1, -1]), ["y", "-1", "index 2"]),
        (dict(y=[0, 1.5]), ["y", "1.5", "index 1"]),
        (dict(y=[0.0, float("nan")]), ["y", "nan", "index 1"]),
        (dict(y=["a", "b"]), ["y", "'a'", "index 0"]),
        (dict(y=[[0, 1], [1, 4]], num_classes=2), ["y", "4", "index (1, 1)"]),
        (dict(y=[]), ["y", "empty"]),
        (dict(y=3), ["y", "3"]),
        (dict(counts=[1, -1.0]), ["counts", "-1.0", "index 1"]),
        (dict(counts=[1, float("inf")]), ["counts", "inf", "index 1"]),
        (dict(counts=[0, 0]), ["counts", "all zeros"]),
        (dict(counts=[[[1]]]), ["counts", "(1, 1, 1)"]),
        (dict(counts=[1, 2], num_classes=3), ["counts", "num_classes", "3"]),
        (dict(y=[0, 1], counts=[1, 1]), ["y", "counts", "both"]),
        (dict(), ["y", "counts", "neither"]),
        (dict(y=[0, 1], scheme="focal"), ["scheme", "'focal'"]),
        (dict(y=[0, 1], normalize="mean"), ["normalize", "'mean'"]),
        (dict(y=[0, 1], absent="skip"), ["absent", "'skip'"]),
        (dict(y=[0, 1], beta=1.0), ["beta", "1.0"]),
        (dict(y=[0, 1], beta=-0.1), ["beta", "-0.1"]),
        (dict(y=[0, 1], power=-2.0), ["power", "-2.0"]),
        (dict(y=[0, 1], num_classes=0), ["num_classes", "0"]),
        (dict(y=[0, 1], num_classes=2.5), ["num_classes", "2.5"]),
    ],
)
def test_class_weights_bad_input(kwargs: dict[str, object], needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        class_weights(**kwargs)  # type: ignore[arg-type]
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


@pytest.mark.parametrize(
    ("kwargs", "needles"),
    [
        (dict(Y=[[0, 1], [1, 2]]), ["Y", "0/1", "2", "index (1, 1)"]),
        (dict(Y=[[0, 0.5]]), ["Y", "0.5", "index (0, 1)"]),
        (dict(Y=[0, 1, 1]), ["Y", "(3,)", "(N, L)"]),
        (dict(Y=np.zeros((0, 3))), ["Y", "(0, 3)"]),
        (dict(Y=[[0, 1]], pos_counts=[1]), ["Y", "pos_counts", "both"]),
        (dict(), ["Y", "pos_counts", "neither"]),
        (dict(Y=[[0, 1]], num_samples=1), ["num_samples", "1"]),
        (dict(pos_counts=[1, 2]), ["num_samples", "None"]),
        (dict(pos_counts=[1, 5], num_samples=4), ["pos_counts", "5.0", "index 1", "4.0"]),
        (dict(pos_counts=[1, -1], num_samples=4), ["pos_counts", "-1.0", "index 1"]),
        (dict(pos_counts=[0, 0], num_samples=[4, 0]), ["num_samples", "0", "index 1"]),
        (dict(pos_counts=[1, 1], num_samples=[4, 4, 4]), ["num_samples", "(3,)"]),
        (dict(Y=[[0, 1]], scheme="focal"), ["scheme", "'focal'"]),
        (dict(Y=[[0, 1]], normalize="mean"), ["normalize", "'mean'"]),
        (dict(Y=[[0, 1]], beta=2), ["beta", "2"]),
    ],
)
def test_multilabel_bad_input(kwargs: dict[str, object], needles: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        multilabel_weights(**kwargs)  # type: ignore[arg-type]
    for needle in needles:
        assert needle in str(info.value), (needle, str(info.value))


@pytest.mark.parametrize("scheme", ["balanced", "inverse", "inverse_sqrt", "power", "effective",
                                    "median_frequency", "none"])  # fmt: skip
@pytest.mark.parametrize("norm", ["samples", "classes", "none"])
def test_multilabel_single_class_label_gets_zero_and_one(scheme, norm):
    # DECISIONS §3: no positives -> pos_weight 0, neg_weight 1 (and vice versa), any scheme.
    Y = np.array([[0, 1, 1], [0, 0, 1], [0, 1, 1]])
    pos, neg = multilabel_weights(Y, scheme=scheme, normalize=norm)
    assert (pos[0], neg[0]) == (0.0, 1.0)
    assert (pos[2], neg[2]) == (1.0, 0.0)
