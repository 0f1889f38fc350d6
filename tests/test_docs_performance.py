"""The compile example of ``docs/performance.md`` runs as written."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import torch

DOC = Path(__file__).resolve().parents[1] / "docs" / "performance.md"


def test_the_compile_example_runs() -> None:
    text = DOC.read_text()
    block = text.split("<!-- compile-example:start -->")[1].split("<!-- compile-example:end -->")[0]
    code = block.split("```python")[1].split("```")[0]
    torch._dynamo.reset()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(DOC), "exec"), {"__name__": "docs_performance"})
    # the loss is positive, the accuracy in [0, 1], and the three compiled updates were counted
    assert out.getvalue().split() == ["True", "True", "3"]
