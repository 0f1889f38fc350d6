"""docs/keras.md: every fenced Python block runs, in order, in one namespace (torch backend)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")

DOC = Path(__file__).resolve().parents[2] / "docs" / "keras.md"


@pytest.fixture(autouse=True, scope="module")
def _one_torch_thread() -> Any:
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_keras_doc_snippets_run() -> None:
    if keras.backend.backend() != "torch":
        pytest.skip("docs/keras.md is executed with KERAS_BACKEND=torch (it has a torch loop)")
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) >= 10
    ns: dict[str, Any] = {"__name__": "keras_doc"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC}:block{i}", "exec"), ns)
