"""Helpers shared by the Keras suites; backend-neutral (``keras.ops``), so they run on the
torch, TensorFlow and JAX backends alike.

Keras is imported on use: ``--doctest-modules`` imports this file in every run, also where
Keras is not installed or ``KERAS_BACKEND`` names a backend that is not.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def to_np(x: Any, dtype: Any = None) -> np.ndarray:
    """A NumPy array of a Keras tensor (any backend) or of a torch twin's result."""
    if isinstance(x, torch.Tensor):
        return np.asarray(x.detach().numpy(), dtype=dtype)
    import keras

    return np.asarray(keras.ops.convert_to_numpy(x), dtype=dtype)


def to_np64(x: Any) -> np.ndarray:
    """:func:`to_np` in ``float64``."""
    return to_np(x, np.float64)
