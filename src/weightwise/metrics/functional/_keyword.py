"""The deprecation path for a positional ``sample_weight`` (private).

The functional metrics take ``sample_weight`` by keyword only (after ``*``), as scikit-learn's
metrics and weightwise's losses do. For one release a third positional argument is still
accepted as ``sample_weight``, with a ``FutureWarning``; the next release drops this decorator.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["keyword_sample_weight"]

F = TypeVar("F", bound=Callable[..., Any])


def keyword_sample_weight(fn: F) -> F:
    """Let ``fn(preds, target, w)`` still mean ``fn(preds, target, sample_weight=w)``, warning.

    ``fn``'s own signature (what :func:`inspect.signature` and type checkers see) keeps
    ``sample_weight`` keyword-only. More than three positional arguments, or a positional
    weight together with ``sample_weight=``, raise ``TypeError``.

    Example:
        >>> import warnings
        >>> @keyword_sample_weight
        ... def total(preds, target, *, sample_weight=None):
        ...     return sample_weight
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     total(1, 2, 3.0), caught[0].category.__name__
        (3.0, 'FutureWarning')
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if len(args) > 2:
            name = getattr(fn, "__name__", "metric")
            if len(args) > 3 or "sample_weight" in kwargs:
                raise TypeError(
                    f"{name}() takes preds and target positionally and every other argument "
                    f"by keyword; got {len(args)} positional arguments"
                    + (" and sample_weight=" if "sample_weight" in kwargs else "")
                )
            warnings.warn(
                f"{name}(preds, target, w): pass sample_weight=... by keyword; a positional "
                "sample_weight is deprecated and will be an error in the next release",
                FutureWarning,
                stacklevel=2,
            )
            kwargs["sample_weight"] = args[2]
            args = args[:2]
        return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
