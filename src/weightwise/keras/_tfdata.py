"""``tf.data`` pipelines that carry weights: class weights as a third element, augmentation,
stratified splits and rebalancing.

TensorFlow is imported only when one of these functions is called: ``import weightwise.keras``
never imports it. Every function takes and returns a ``tf.data.Dataset`` whose elements are
``(x, y)`` or ``(x, y, w)`` tuples, batched or not, as ``keras.Model.fit`` reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .._checks import check_nonnegative_int, check_positive_int
from .._contract import class_weight_table, class_weight_vector

__all__ = ["augment", "rebalance", "stratified_split", "with_class_weight"]


def _tf() -> Any:
    try:
        import tensorflow as tf
    except ImportError as err:  # pragma: no cover - exercised where TensorFlow is absent
        raise ImportError(
            "the tf.data helpers of weightwise.keras need TensorFlow: `pip install tensorflow-cpu`"
        ) from err
    return tf


def _arity(ds: Any, fn: str) -> int:
    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) not in (2, 3):
        raise ValueError(
            f"{fn} needs a dataset of (x, y) or (x, y, sample_weight) tuples; got elements {spec!r}"
        )
    return len(spec)


def _table(class_weight: Any, num_classes: int | None) -> np.ndarray:
    """The class weight as a ``(C,)`` float32 vector; a key that is not a class is an error."""
    if class_weight is None:
        raise ValueError("class_weight must be a (C,) vector or a {class: weight} dict; got None")
    raw = class_weight if isinstance(class_weight, Mapping) else np.asarray(class_weight)
    if num_classes is None:
        values, _ = class_weight_vector(raw)  # keys, values checked
        num_classes = int(values.size)
    else:
        num_classes = check_positive_int(num_classes, "num_classes")
    return class_weight_table(raw, num_classes).astype(np.float32)


def _kappa(tf: Any, y: Any, table: Any, one_hot: bool) -> Any:
    """``κ`` on ``y``'s element grid: ``table[y]`` (a trailing axis of size 1 dropped), or
    ``Σ_c table[c]·t_c`` for one-hot / soft targets."""
    c = int(table.shape[0])
    if one_hot:
        t = tf.cast(y, tf.float32)
        if t.shape.rank == 0 or t.shape[-1] != c:
            raise ValueError(
                f"with one_hot=True, y must have a last axis of {c} classes; got shape {t.shape}"
            )
        return tf.reduce_sum(t * table, axis=-1)
    if y.shape.rank and y.shape[-1] == 1:
        y = tf.squeeze(y, axis=-1)
    if y.dtype.is_floating:
        y = tf.cast(tf.round(y), tf.int64)
    y = tf.cast(y, tf.int64)
    bad = tf.logical_or(y < 0, y >= c)
    first_bad = tf.boolean_mask(tf.reshape(y, [-1]), tf.reshape(bad, [-1]))[:1]
    check = tf.debugging.Assert(
        tf.logical_not(tf.reduce_any(bad)),
        [
            f"y holds a label that is not a class of class_weight (classes 0..{c - 1}); got",
            first_bad,
        ],
        summarize=1,
    )
    with tf.control_dependencies([check]):
        return tf.gather(table, tf.clip_by_value(y, 0, c - 1))


def _left_multiply(tf: Any, s: Any, kappa: Any) -> Any:
    """``s·κ`` with ``s`` left-aligned onto ``κ``'s grid (no size-1 broadcasting)."""
    s = tf.cast(s, tf.float32)
    rs, rk = s.shape.rank, kappa.shape.rank
    if rs > rk:
        raise ValueError(
            f"sample_weight of shape {s.shape} has more dimensions than the targets' element grid "
            f"{kappa.shape}"
        )
    for a, b in zip(s.shape, kappa.shape[:rs], strict=True):
        if a is not None and b is not None and a != b:
            raise ValueError(
                f"sample_weight of shape {s.shape} does not fit the element grid {kappa.shape}: "
                f"it must match the grid's leading dimensions exactly"
            )
    if rs < rk:
        s = tf.reshape(s, tf.concat([tf.shape(s), tf.ones([rk - rs], tf.int32)], axis=0))
    return s * kappa


def with_class_weight(
    ds: Any, class_weight: Any, *, num_classes: int | None = None, one_hot: bool = False
) -> Any:
    """Attach class weights to a ``tf.data.Dataset`` as its third element.

    ``(x, y) → (x, y, κ)`` and ``(x, y, s) → (x, y, s·κ)`` with ``κ = class_weight[y]`` on the
    targets' element grid: one weight per sample for labels ``(N,)`` or ``(N, 1)``, a per-pixel
    map ``(N, H, W)`` for masks ``(N, H, W)`` or ``(N, H, W, 1)`` (a trailing axis of size 1 is
    dropped), per timestep for ``(N, T)``. An existing sample weight ``s`` (a scalar, per sample
    or per pixel) is broadcast left-aligned onto that grid and multiplied, which Keras' own
    ``fit(class_weight=, sample_weight=)`` refuses. Works on batched and unbatched datasets.

    Args:
        ds: a dataset of ``(x, y)`` or ``(x, y, s)`` tuples.
        class_weight: a ``(C,)`` vector or a ``{class: weight}`` dict. A dict must give every
            class ``0..C-1`` a weight; a key outside ``[0, num_classes)`` or a missing class is a
            ``ValueError`` naming it (Keras silently ignores such keys). While iterating, a label
            outside ``[0, C)`` is an ``InvalidArgumentError`` naming the label.
        num_classes: ``C``; by default the vector's length or the dict's largest key + 1.
        one_hot: ``y`` holds one-hot or soft targets on a last axis of ``C`` classes;
            ``κ = Σ_c class_weight[c]·t_c`` (``class_weight[argmax]`` for one-hot targets).

    Returns:
        A dataset of ``(x, y, w)`` with ``w`` float32.

    Example:
        >>> ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)     # doctest: +SKIP
        >>> model.fit(with_class_weight(ds, {0: 1.0, 1: 4.0}))           # doctest: +SKIP
    """
    tf = _tf()
    _arity(ds, "with_class_weight")
    table = tf.constant(_table(class_weight, num_classes))

    def attach(x: Any, y: Any, *s: Any) -> Any:
        kappa = _kappa(tf, y, table, one_hot)
        return x, y, (kappa if not s else _left_multiply(tf, s[0], kappa))

    return ds.map(attach, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def augment(
    ds: Any,
    fn: Callable[..., Any],
    *,
    copies: int = 1,
    weight_policy: str = "repeat",
    joint: bool = False,
) -> Any:
    """Augment an **unbatched** dataset, carrying each element's weight through.

    Each element appears ``copies`` times (consecutively), each copy through ``fn`` afresh, with
    the weight ``w`` (``weight_policy="repeat"``) or ``w / copies`` (``"split"``: the copies of
    an element sum to its weight), as :class:`weightwise.data.AugmentedDataset` does. An
    ``(x, y)`` element gets ``w = 1``.

    ``fn(x) -> x`` by default (photometric changes: the targets and a per-pixel weight map stay
    where they are). With ``joint=True``, ``fn(x, y, w) -> (x, y, w)`` for geometric changes
    that must move the mask and its weight map with the image.

    Example:
        >>> noisy = lambda x: x + tf.random.normal(tf.shape(x))          # doctest: +SKIP
        >>> aug = augment(ds, noisy, copies=2, weight_policy="split")    # doctest: +SKIP
    """
    tf = _tf()
    arity = _arity(ds, "augment")
    copies = check_positive_int(copies, "copies")
    if weight_policy not in ("repeat", "split"):
        raise ValueError(f"weight_policy must be 'repeat' or 'split'; got {weight_policy!r}")
    if not callable(fn):
        raise ValueError(f"fn must be callable; got {type(fn).__name__}")
    if arity == 2:
        ds = ds.map(lambda x, y: (x, y, tf.constant(1.0, tf.float32)))
    factor = 1.0 / copies if weight_policy == "split" else 1.0

    def one(x: Any, y: Any, w: Any) -> Any:
        w = tf.cast(w, tf.float32) * factor
        if joint:
            return fn(x, y, w)
        return fn(x), y, w

    if copies > 1:
        ds = ds.flat_map(lambda *e: tf.data.Dataset.from_tensors(e).repeat(copies))
    return ds.map(one, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _labels(tf: Any, ds: Any, fn: str) -> np.ndarray:
    spec = ds.element_spec[1]
    if spec.shape.rank not in (0, None) and not (spec.shape.rank == 1 and spec.shape[0] == 1):
        raise ValueError(
            f"{fn} needs an unbatched dataset with one label per element; got labels of shape "
            f"{spec.shape} (call it before .batch())"
        )
    labels = ds.map(lambda *e: tf.reshape(tf.cast(e[1], tf.int64), [])).batch(65536)
    parts = [np.asarray(b) for b in labels.as_numpy_iterator()]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def stratified_split(ds: Any, *, fractions: Any = (0.8, 0.2), seed: int = 0) -> list[Any]:
    """Split a finite, **unbatched** dataset into parts with its class proportions.

    The parts follow :func:`weightwise.data.stratified_split` on the dataset's labels (one pass
    reads them): per-class largest-remainder sizes, seeded shuffling. Elements are kept whole, so
    a third element ``w`` travels with its sample: each part's weights are exactly those of its
    samples. Each part keeps the dataset's order.

    Returns:
        One dataset per fraction.

    Example:
        >>> train, val = stratified_split(ds, fractions=(0.8, 0.2))      # doctest: +SKIP
    """
    tf = _tf()
    _arity(ds, "stratified_split")
    from ..data import stratified_split as split_indices

    y = _labels(tf, ds, "stratified_split")
    parts = split_indices(y, fractions=tuple(fractions), seed=seed)
    owner = np.zeros(y.shape[0], dtype=np.int64)
    for j, idx in enumerate(parts):
        owner[idx] = j
    table = tf.constant(owner)
    out = []
    for j in range(len(parts)):
        part = ds.enumerate().filter(lambda i, e, j=j: tf.equal(tf.gather(table, i), j))
        out.append(part.map(lambda i, e: e))
    return out


def rebalance(
    ds: Any,
    *,
    target: Any = None,
    counts: Any = None,
    method: str = "sample",
    weights: str = "keep",
    seed: int = 0,
) -> Any:
    """Re-draw an **unbatched** dataset so that its classes follow ``target``.

    Args:
        ds: ``(x, y)`` or ``(x, y, w)`` elements with one integer label each.
        target: the class distribution to draw, ``(C,)`` (normalised here); uniform by default.
        counts: the class counts ``(C,)`` of ``ds``; by default one pass over ``ds`` counts them.
        method: ``"sample"``: ``tf.data.Dataset.sample_from_datasets`` over one repeated
            dataset per class (over-sampling; the result is **infinite**: give ``fit`` a
            ``steps_per_epoch`` or ``.take()`` it); ``"rejection"``: ``ds.rejection_resample``
            (drops elements of the over-represented classes; finite; yields ``(x, y[, w])``).
        weights: what happens to the weights. ``"keep"`` (default): each element keeps its
            ``w`` (``(x, y)`` stays ``(x, y)``): the *sampling* balances the classes, so do not
            add class weights for the same imbalance on top (that balances twice).
            ``"correct"``: ``w ← w · p_data(c) / p_target(c)`` (an ``(x, y)`` element gets that
            factor as its weight), the importance weight that keeps the expected weighted loss
            that of the original data (over-sampling for speed of coverage, not for a new risk).
        seed: seed of the draw.

    A class with a non-zero target but no element is a ``ValueError`` naming it.

    Example:
        >>> balanced = rebalance(ds.repeat(), counts=[900, 100]).batch(32)  # doctest: +SKIP
    """
    tf = _tf()
    arity = _arity(ds, "rebalance")
    seed = check_nonnegative_int(seed, "seed")
    if method not in ("sample", "rejection"):
        raise ValueError(f"method must be 'sample' or 'rejection'; got {method!r}")
    if weights not in ("keep", "correct"):
        raise ValueError(f"weights must be 'keep' or 'correct'; got {weights!r}")
    if counts is None:
        y = _labels(tf, ds, "rebalance")
        n_c = np.bincount(y, minlength=0 if target is None else len(np.asarray(target)))
    else:
        n_c = np.asarray(counts, dtype=np.float64)
        if n_c.ndim != 1 or (~np.isfinite(n_c) | (n_c < 0)).any():
            raise ValueError(f"counts must be a (C,) vector of non-negative counts; got {counts!r}")
    n_c = n_c.astype(np.float64)
    c = n_c.size
    if target is None:
        p_target = np.full(c, 1.0 / c)
    else:
        p_target = np.asarray(target, dtype=np.float64)
        if p_target.shape != (c,):
            raise ValueError(
                f"target must have shape ({c},), one value per class; got {p_target.shape}"
            )
        bad = ~np.isfinite(p_target) | (p_target < 0)
        if bad.any() or p_target.sum() <= 0:
            pos = int(np.flatnonzero(bad)[0]) if bad.any() else 0
            raise ValueError(
                f"target must be finite, non-negative and not all 0; got {p_target[pos]!r} at "
                f"index {pos}"
            )
        p_target = p_target / p_target.sum()
    empty = np.flatnonzero((n_c == 0) & (p_target > 0))
    if empty.size:
        raise ValueError(
            f"class {int(empty[0])} has a target probability of {p_target[empty[0]]:.3g} but no "
            f"element in the dataset"
        )
    p_data = n_c / n_c.sum()
    ratio = np.where(p_target > 0, p_data / np.where(p_target > 0, p_target, 1.0), 0.0)
    factor = tf.constant(ratio.astype(np.float32))

    def correct(*e: Any) -> Any:
        k = tf.gather(factor, tf.reshape(tf.cast(e[1], tf.int64), []))
        w = k if arity == 2 else tf.cast(e[2], tf.float32) * k
        return e[0], e[1], w

    if method == "sample":
        keep = [k for k in range(c) if p_target[k] > 0]
        per_class = [
            ds.filter(lambda *e, k=k: tf.equal(tf.reshape(tf.cast(e[1], tf.int64), []), k)).repeat()
            for k in keep
        ]
        out = tf.data.Dataset.sample_from_datasets(
            per_class, weights=[float(p_target[k]) for k in keep], seed=seed
        )
    else:
        out = ds.rejection_resample(
            lambda *e: tf.reshape(tf.cast(e[1], tf.int32), []),
            target_dist=p_target.astype(np.float32),
            initial_dist=p_data.astype(np.float32),
            seed=seed,
        ).map(lambda label, e: e)
    if weights == "correct":
        out = out.map(correct)
    return out
