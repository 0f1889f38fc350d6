"""``WeightedValidation``: weighted and unweighted validation numbers side by side in ``fit``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

import keras

from .._checks import check_positive_int
from .._contract import class_weight_table, class_weight_vector
from ._common import to_numpy

__all__ = ["WeightedValidation"]

MetricFn = Callable[[np.ndarray, np.ndarray, "np.ndarray | None"], float]


def _numpy(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, (list, tuple)):
        return type(x)(_numpy(v) for v in x)
    if isinstance(x, dict):
        return {k: _numpy(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        return x
    return to_numpy(x)


def _split_batch(batch: Any) -> tuple[Any, Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) in (2, 3):
        return batch[0], batch[1], batch[2] if len(batch) == 3 else None
    raise ValueError(
        "validation_data batches must be (x, y) or (x, y, sample_weight) tuples; got "
        f"{type(batch).__name__}"
        + (f" of length {len(batch)}" if hasattr(batch, "__len__") else "")
    )


def _labels(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Hard labels on the element grid: argmax of one-hot targets, squeezed sparse labels,
    rounded binary targets."""
    if y.ndim == pred.ndim and y.shape == pred.shape and pred.shape[-1] > 1:
        return np.asarray(y.argmax(axis=-1))
    if y.ndim == pred.ndim and y.shape[-1] == 1 and pred.shape[-1] != 1:
        y = y[..., 0]
    return np.rint(y).astype(np.int64)


def _left_multiply(w: np.ndarray | None, m: np.ndarray) -> np.ndarray:
    if w is None:
        return m
    if m.ndim > w.ndim and m.shape[: w.ndim] == w.shape:
        w = w.reshape(w.shape + (1,) * (m.ndim - w.ndim))
    return np.asarray(w * m)


def _accuracy_fallback(
    y: np.ndarray, pred: np.ndarray, w: np.ndarray | None, from_logits: bool
) -> float:
    """Micro accuracy (used only when weightwise.metrics is unavailable)."""
    labels = _labels(y, pred)
    if pred.ndim >= 2 and pred.shape[-1] > 1:
        hit = pred.argmax(axis=-1) == labels
    else:
        p = pred.reshape(labels.shape)
        hit = (p > (0.0 if from_logits else 0.5)) == (labels > 0)
    weights = np.ones(hit.shape) if w is None else _left_multiply(w, np.ones(hit.shape))
    total = float(weights.sum())
    return float((weights * hit).sum() / total) if total > 0 else 0.0


class WeightedValidation(keras.callbacks.Callback):
    r"""Log the weighted, unweighted and class-weighted validation loss, and weighted and
    unweighted metrics, into ``logs`` at the end of every epoch.

    Keras never applies ``class_weight`` to validation, and applies ``sample_weight`` to the
    validation loss only when ``validation_data=(x, y, w)``. This callback answers "is my
    validation loss weighted?" with numbers. Each epoch it writes:

    * ``val_loss_unweighted``: the loss with no sample weight;
    * ``val_loss_weighted``: the loss with the validation sample weight ``w`` (the unweighted
      value when the data carry none);
    * ``val_loss_class_weighted``: the loss as training optimises it with ``fit(class_weight=)``:
      ``s = w · class_weight[y]`` (gathered per element, so dense masks work too); without
      ``class_weight`` it equals ``val_loss_weighted``;
    * ``val_<name>`` and ``val_weighted_<name>`` for each metric: unweighted, and weighted by
      ``w · class_weight[y]`` (whichever factors exist).

    The losses are computed **once over the whole validation set** (predictions are gathered
    first), so a ``"weighted_mean"`` loss divides by the set's ``Σ ω``, not a per-batch average.
    The loss is the model's compiled loss unless ``loss=`` is given; it may be any Keras loss,
    ``keras.losses.SparseCategoricalCrossentropy`` included. The logs then appear in the
    progress bar and in ``History``; put this callback *before* ``TensorBoard`` or
    ``CSVLogger`` in ``callbacks=`` so they see the new keys.

    Args:
        validation_data: ``(x, y)`` or ``(x, y, w)`` arrays, or a re-iterable of such batches (a
            ``keras.utils.PyDataset``, a torch ``DataLoader``, a list).
        metrics: names of :mod:`weightwise.metrics.functional` functions (``"accuracy"``,
            ``"recall"``, ``"f1_score"``, ...), ``(name, fn)`` pairs or callables
            ``fn(y_true, y_pred, sample_weight) -> float`` on NumPy arrays (named by
            ``fn.__name__``). Named metrics get the predictions with the class axis moved to
            dim 1 and ``from_logits`` passed through.
        class_weight: ``{class: weight}`` dict or ``(C,)`` vector, usually what ``fit`` got.
        loss: the loss to evaluate (default: the model's compiled loss).
        batch_size: batch size for predicting array data.
        from_logits: whether the model outputs logits, for named metrics (default: the loss's
            ``from_logits`` attribute, else ``False``).

    Example:
        >>> cb = WeightedValidation((x_val, y_val, w_val), metrics=["recall"],
        ...                         class_weight={0: 1.0, 1: 5.0})       # doctest: +SKIP
        >>> model.fit(x, y, class_weight={0: 1.0, 1: 5.0}, callbacks=[cb])  # doctest: +SKIP
    """

    def __init__(
        self,
        validation_data: Any,
        *,
        metrics: Sequence[Any] = (),
        class_weight: Any = None,
        loss: Any = None,
        batch_size: int = 256,
        from_logits: bool | None = None,
    ) -> None:
        super().__init__()
        if validation_data is None:
            raise ValueError("validation_data must be (x, y), (x, y, w) or a dataset; got None")
        batch_size = check_positive_int(batch_size, "batch_size")
        self.validation_data = validation_data
        self.class_weight = class_weight
        self.loss = loss
        self.batch_size = batch_size
        self.from_logits = from_logits
        self._metrics = [self._resolve_metric(m) for m in metrics]
        if class_weight is not None:
            self._class_weight_vector()  # validate keys and values now

    # -- configuration --------------------------------------------------------------------------
    @staticmethod
    def _resolve_metric(m: Any) -> tuple[str, Any]:
        if isinstance(m, str):
            return m, m
        if isinstance(m, tuple) and len(m) == 2 and isinstance(m[0], str) and callable(m[1]):
            return m[0], m[1]
        if callable(m):
            return str(getattr(m, "__name__", "metric")), m
        raise ValueError(
            f"metrics entries must be a metric name, a (name, fn) pair or a callable; got {m!r}"
        )

    def _class_weight_vector(self, num_classes: int | None = None) -> np.ndarray:
        """The class weight as a float64 vector; for exactly ``num_classes`` classes if given."""
        cw = self.class_weight if isinstance(self.class_weight, dict) else _numpy(self.class_weight)
        if num_classes is None:
            return class_weight_vector(cw)[0]  # validates keys and values
        return class_weight_table(cw, num_classes)

    def _loss_fn(self) -> Any:
        loss = self.loss if self.loss is not None else getattr(self.model, "loss", None)
        if loss is None:
            raise ValueError(
                "WeightedValidation needs a loss: compile the model with one or pass loss="
            )
        if isinstance(loss, (dict, list, tuple)):
            raise ValueError("WeightedValidation supports single-output models with one loss")
        return keras.losses.get(loss) if isinstance(loss, str) else loss

    def _logits(self, loss_fn: Any) -> bool:
        if self.from_logits is not None:
            return bool(self.from_logits)
        return bool(getattr(loss_fn, "from_logits", False))

    # -- evaluation -----------------------------------------------------------------------------
    def _batches(self) -> Iterable[tuple[Any, Any, Any]]:
        data = self.validation_data
        if isinstance(data, tuple) and len(data) in (2, 3) and not _is_batch_iterable(data[0]):
            x, y = data[0], data[1]
            w = data[2] if len(data) == 3 else None
            n = len(y)
            for i in range(0, n, self.batch_size):
                sl = slice(i, i + self.batch_size)
                xb = _slice(x, sl)
                yield xb, _slice(y, sl), None if w is None else _slice(w, sl)
            return
        if isinstance(data, keras.utils.PyDataset):
            for i in range(len(data)):
                yield _split_batch(data[i])
            return
        for batch in data:
            yield _split_batch(batch)

    def _gather(self) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        preds, ys, ws = [], [], []
        any_w = False
        for xb, yb, wb in self._batches():
            out = self.model(xb, training=False)
            preds.append(np.asarray(_numpy(out)))
            ys.append(np.asarray(_numpy(yb)))
            ws.append(None if wb is None else np.asarray(_numpy(wb), dtype=np.float32))
            any_w = any_w or wb is not None
        if not preds:
            raise ValueError("validation_data yielded no batches")
        pred = np.concatenate(preds)
        y = np.concatenate(ys)
        w: np.ndarray | None = None
        if any_w:
            if any(v is None for v in ws):
                raise ValueError("validation_data mixes batches with and without sample_weight")
            w = np.concatenate([v for v in ws if v is not None])
        return pred, y, w

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        logs.update(self.evaluate())

    def evaluate(self) -> dict[str, float]:
        """Compute the logged values now (also called at every epoch end)."""
        loss_fn = self._loss_fn()
        pred, y, w = self._gather()
        from_logits = self._logits(loss_fn)
        s_cw: np.ndarray | None = None
        if self.class_weight is not None:
            labels = _labels(y, pred)
            num = pred.shape[-1] if pred.ndim >= 2 and pred.shape[-1] > 1 else 2
            vec = self._class_weight_vector(num)
            if labels.size and (labels.min() < 0 or labels.max() >= vec.size):
                bad = labels[(labels < 0) | (labels >= vec.size)][0]
                raise ValueError(
                    f"class_weight has no entry for label {int(bad)} found in validation_data"
                )
            s_cw = _left_multiply(w, vec[labels]).astype(np.float32)

        def value(sample_weight: np.ndarray | None) -> float:
            return float(
                to_numpy(keras.ops.convert_to_tensor(loss_fn(y, pred, sample_weight=sample_weight)))
            )

        out: dict[str, float] = {}
        out["val_loss_unweighted"] = value(None)
        out["val_loss_weighted"] = out["val_loss_unweighted"] if w is None else value(w)
        out["val_loss_class_weighted"] = out["val_loss_weighted"] if s_cw is None else value(s_cw)
        metric_w = s_cw if s_cw is not None else w
        for name, fn in self._metrics:
            out[f"val_{name}"] = self._metric(fn, y, pred, None, from_logits)
            out[f"val_weighted_{name}"] = (
                out[f"val_{name}"]
                if metric_w is None
                else self._metric(fn, y, pred, metric_w, from_logits)
            )
        return out

    @staticmethod
    def _metric(
        fn: Any, y: np.ndarray, pred: np.ndarray, w: np.ndarray | None, from_logits: bool
    ) -> float:
        if not isinstance(fn, str):
            return float(fn(y, pred, w))
        metric: Any = None
        try:
            from ..metrics import functional as F

            metric = getattr(F, fn, None)
        except ImportError:  # pragma: no cover - weightwise.metrics ships with weightwise
            pass
        if metric is None:
            if fn == "accuracy":
                return _accuracy_fallback(y, pred, w, from_logits)
            raise ValueError(f"metrics: unknown weightwise metric {fn!r}")
        import torch

        labels = _labels(y, pred)
        if pred.ndim >= 2 and pred.shape[-1] > 1:
            p = torch.from_numpy(np.ascontiguousarray(np.moveaxis(pred, -1, 1)))
        else:
            p = torch.from_numpy(np.ascontiguousarray(pred.reshape(labels.shape)))
        sw = None if w is None else torch.from_numpy(np.ascontiguousarray(w))
        return float(metric(p, torch.from_numpy(labels), sample_weight=sw, from_logits=from_logits))


def _is_batch_iterable(x: Any) -> bool:
    return isinstance(x, keras.utils.PyDataset)


def _slice(x: Any, sl: slice) -> Any:
    if isinstance(x, dict):
        return {k: v[sl] for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(v[sl] for v in x)
    return x[sl]
