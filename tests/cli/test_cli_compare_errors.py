"""`weightwise compare`'s user errors: exit 2, one ``error:`` line, before any training."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import weightwise.cli._compare as compare_module
from weightwise.cli import main


def _table(tmp_path: Path, name: str = "t.csv", n: int = 120, **columns) -> Path:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n),
                       "label": np.where(np.arange(n) % 3 == 0, "a", "b")})  # fmt: skip
    for k, v in columns.items():
        df[k] = v
    path = tmp_path / name
    if name.endswith(".parquet"):
        df.to_parquet(path)
    else:
        df.to_csv(path, index=False)
    return path


@pytest.fixture
def no_training(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("training started before the error was found")

    monkeypatch.setattr(compare_module, "run_compare", refuse)


def _error(capsys, argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["compare", *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def test_too_few_rows_of_a_class_to_split(tmp_path, capsys, no_training):
    labels = np.array(["a"] * 60 + ["b"] * 58 + ["rare"] * 2)
    path = _table(tmp_path, label=labels)
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert "class 'rare' has 2 row(s)" in line and "at least 3 per class" in line


def test_out_that_is_a_file_is_checked_first(tmp_path, capsys, no_training):
    f = tmp_path / "taken"
    f.write_text("x")
    # Checked before the data: the missing file is not what is reported.
    line = _error(capsys, ["--data", "missing.csv", "--target", "y", "--out", str(f)])
    assert "--out" in line and "is a file" in line
    line = _error(capsys, ["--out", str(f / "sub")])
    assert "is a file, not a folder" in line


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_out(tmp_path, capsys, no_training):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        line = _error(capsys, ["--out", str(ro / "run")])
    finally:
        ro.chmod(0o700)
    assert "not writable" in line


def test_feature_error_names_the_row_of_the_file(tmp_path, capsys, no_training):
    x = np.ones(120)
    x[100] = np.nan
    path = _table(tmp_path, x=x)
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert f"row 100 (line 102) of {path}" in line


def test_date_error_names_the_row_of_the_file(tmp_path, capsys, no_training):
    dates = pd.date_range("2024-01-01", periods=120, freq="D").astype(str).tolist()
    dates[57] = "not a date"
    path = _table(tmp_path, when=dates)
    line = _error(capsys, ["--data", str(path), "--target", "label", "--time-column", "when",
                           "--half-life", "30", "--out", str(tmp_path / "o")])  # fmt: skip
    assert f"row 57 (line 59) of {path}" in line


def test_duplicate_column_names_are_refused(tmp_path, capsys, no_training):
    path = tmp_path / "dup.csv"
    rows = "\n".join(f"{i},{'ab'[i % 2]},{'ab'[i % 2]}" for i in range(60))
    path.write_text("x,label,label\n" + rows + "\n")
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert "column name 'label' twice" in line


def test_regression_looking_target_is_refused_with_a_hint(tmp_path, capsys, no_training):
    path = _table(tmp_path, label=np.arange(120) % 90)
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert "looks like a regression target" in line and "90 distinct" in line
    assert "pandas.cut" in line


def test_delimited_multilabel_target_is_refused(tmp_path, capsys, no_training):
    path = _table(tmp_path, label=np.where(np.arange(120) % 2, "0|even", "1|odd"))
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert "'0|even'" in line and "multi-label target" in line


def test_nested_parquet_column_is_refused(tmp_path, capsys, no_training):
    pytest.importorskip("pyarrow")
    path = _table(tmp_path, "n.parquet", tags=[[1, 2]] * 120)
    line = _error(capsys, ["--data", str(path), "--target", "label", "--out", str(tmp_path / "o")])
    assert "'tags'" in line and "nested Parquet column" in line


def test_many_classes_keep_results_json_small(tmp_path):
    # 300 classes: per-class arrays are summarised and the C×C confusion matrix is not kept.
    c, per = 300, 4
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(c), per)
    df = pd.DataFrame({"x": rng.normal(size=c * per) + y / 50, "label": [f"k{v}" for v in y]})
    path = tmp_path / "many.csv"
    df.to_csv(path, index=False)
    out = tmp_path / "o"
    with pytest.raises(SystemExit) as exc:
        main(["compare", "--data", str(path), "--target", "label", "--epochs", "1",
              "--strategies", "none,balanced", "--out", str(out)])  # fmt: skip
    assert exc.value.code == 0
    size = (out / "results.json").stat().st_size
    assert size < 200_000, size  # 2.7 MB with the 300×300 confusion matrices
    res = json.loads((out / "results.json").read_text())
    st = res["strategies"]["balanced"]
    assert st["confusion_matrix"] is None
    assert "summarised" in st["per_class_recall"] and len(st["per_class_recall"]["lowest"]) == 10
    assert any("fewer than 5" in w for w in res["warnings"])
