"""docs/transformers.md: every fenced Python block runs, in order, in one namespace."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest

transformers = pytest.importorskip("transformers")

DOC = Path(__file__).resolve().parents[2] / "docs" / "transformers.md"


@pytest.fixture(autouse=True)
def _no_datasets_package(monkeypatch):
    # tests/datasets is importable as "datasets" under pytest; Trainer would take it for HF's.
    import transformers.trainer

    monkeypatch.setattr(transformers.trainer, "is_datasets_available", lambda: False)


def test_transformers_doc_snippets_run(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = DOC.read_text().replace("/tmp/ww-", str(tmp_path) + os.sep + "ww-")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 6
    ns: dict[str, Any] = {"__name__": "transformers_doc"}
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC}:block{i}", "exec"), ns)
    printed = capsys.readouterr().out
    assert "1.75 2.5" in printed
    assert "1 True" in printed  # the multi-process arguments, run in one process
    metrics = ns["metrics"]
    assert {"eval_loss", "eval_weighted_loss", "eval_unweighted_loss"} <= set(metrics)
    # eval_loss is the weighted loss as trained: equal to the whole-set weighted value up to
    # Trainer's per-batch averaging; the unweighted one differs with these class weights
    assert metrics["eval_weighted_loss"] != metrics["eval_unweighted_loss"]
    assert ns["hidden"].shape[-1] == 32 and ns["lm"].lm_head.weight.grad is not None
