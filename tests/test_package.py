"""The package's shape: lazy subpackages, a light core import, no import cycles in cli."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SUBPACKAGES = [
    "cli",
    "comparison",
    "data",
    "datasets",
    "decision",
    "keras",
    "metrics",
    "nn",
    "schedules",
]
HEAVY = ["torchmetrics", "scipy", "matplotlib", "pandas", "sklearn", "keras", "transformers"]


def _child(code: str) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_core_import_pulls_in_no_optional_library() -> None:
    got = _child(
        "import json, sys, weightwise; "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    assert got == []


def test_every_subpackage_is_an_attribute_after_import_weightwise() -> None:
    # One fresh interpreter for all of them: each attribute access must import its subpackage.
    got = _child(
        "import json, os; os.environ.setdefault('KERAS_BACKEND', 'torch'); import weightwise; "
        f"mods = [getattr(weightwise, n) for n in {SUBPACKAGES!r}]; "
        "print(json.dumps([[m.__name__, sorted(set(m.__all__) - set(dir(m)))] for m in mods]))"
    )
    assert got == [[f"weightwise.{name}", []] for name in SUBPACKAGES]


def test_dir_lists_the_lazy_subpackages_and_unknown_names_raise() -> None:
    import weightwise

    assert set(SUBPACKAGES) <= set(dir(weightwise))
    assert set(weightwise.__all__) <= set(dir(weightwise))
    with pytest.raises(AttributeError, match="no attribute 'not_a_subpackage'"):
        weightwise.not_a_subpackage  # noqa: B018
