"""`weightwise inspect`: tables, --json, user files, and one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from weightwise.cli import app, main
from weightwise.datasets import load_digits_lt

SCHEMES = ("balanced", "inverse", "inverse_sqrt", "effective", "median_frequency", "none")

runner = CliRunner()


def _invoke(*args: str) -> Any:
    return runner.invoke(app, list(args))


def _json(*args: str) -> dict[str, Any]:
    result = _invoke(*args, "--json")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def _kish(w: np.ndarray) -> float:
    return float(w.sum() ** 2 / (w**2).sum())


@pytest.fixture(scope="module")
def digits_report() -> dict[str, Any]:
    return _json("inspect")


def test_default_prints_tables() -> None:
    result = _invoke("inspect")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "digits-LT training split (imbalance ratio 10, seed 0)" in out
    for text in ("Summary", "Classes", "Class weights", "Share of the total loss weight"):
        assert text in out
    assert "imbalance ratio (max / min count)" in out and "10.36" in out
    assert "Kish ESS" in out
    for header in ("balanced", "inverse", "effective", "median", "none"):
        assert header in out
    assert "114" in out and "11" in out  # head and tail counts


def test_json_matches_load_digits_lt(digits_report: dict[str, Any]) -> None:
    data = load_digits_lt()
    r = digits_report
    assert r["data"] == {
        "source": "digits_lt",
        "split": "train",
        "imbalance_ratio": 10.0,
        "seed": 0,
    }
    assert r["counts"] == data.counts.tolist()
    assert r["class_names"] == list(data.class_names)
    assert r["num_samples"] == len(data.y_train) and r["num_classes"] == 10
    assert r["imbalance_ratio"] == pytest.approx(data.counts.max() / data.counts.min())
    assert r["effective_sample_size"] == pytest.approx(len(data.y_train))
    assert r["weighted_counts"] is None


def test_json_scheme_weights_sum_to_n(digits_report: dict[str, Any]) -> None:
    counts = np.array(digits_report["counts"], dtype=float)
    n = digits_report["num_samples"]
    assert set(digits_report["schemes"]) == set(SCHEMES)
    for name, scheme in digits_report["schemes"].items():
        w = np.array(scheme["class_weights"])
        assert w.shape == (10,)
        assert float(counts @ w) == pytest.approx(n), name
        share = np.array(scheme["loss_share"])
        np.testing.assert_allclose(share, counts * w / (counts @ w), rtol=1e-9)
        per_sample = np.repeat(w, counts.astype(int))
        assert scheme["effective_sample_size"] == pytest.approx(_kish(per_sample))
    balanced = digits_report["schemes"]["balanced"]
    np.testing.assert_allclose(balanced["loss_share"], np.full(10, 0.1))
    assert digits_report["balanced_effective_sample_size"] == pytest.approx(
        balanced["effective_sample_size"]
    )
    np.testing.assert_allclose(digits_report["schemes"]["none"]["class_weights"], np.ones(10))


def test_imbalance_ratio_and_seed_options() -> None:
    report = _json("inspect", "--imbalance-ratio", "50", "--seed", "1")
    data = load_digits_lt(imbalance_ratio=50.0, seed=1)
    assert report["counts"] == data.counts.tolist()
    assert report["data"]["seed"] == 1 and report["data"]["imbalance_ratio"] == 50.0


def _user_frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    labels = ["cat"] * 12 + ["dog"] * 6 + ["ant"] * 2
    return pd.DataFrame(
        {
            "feature": rng.normal(size=20),
            "animal": labels,
            "weight": rng.uniform(0.5, 2.0, size=20),
        }
    )


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_user_file_with_weight_column(tmp_path: Path, suffix: str) -> None:
    df = _user_frame()
    path = tmp_path / f"animals.{suffix}"
    if suffix == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path)

    args = ("inspect", "--data", str(path), "--target", "animal", "--weight-column", "weight")
    report = _json(*args)
    assert report["data"]["source"] == "file" and report["data"]["weight_column"] == "weight"
    assert report["class_names"] == ["ant", "cat", "dog"]
    assert report["counts"] == [2, 12, 6]
    s = df["weight"].to_numpy()
    y = df["animal"].map({"ant": 0, "cat": 1, "dog": 2}).to_numpy()
    weighted = np.bincount(y, weights=s)
    np.testing.assert_allclose(report["weighted_counts"], weighted)
    assert report["sample_weight_sum"] == pytest.approx(s.sum())
    assert report["effective_sample_size"] == pytest.approx(_kish(s))
    counts = np.array(report["counts"], dtype=float)
    for name, scheme in report["schemes"].items():
        w = np.array(scheme["class_weights"])
        assert float(counts @ w) == pytest.approx(20.0), name  # plain counts normalise
        np.testing.assert_allclose(scheme["loss_share"], weighted * w / (weighted @ w))
        assert scheme["effective_sample_size"] == pytest.approx(_kish(s * w[y]))

    result = _invoke(*args)
    assert result.exit_code == 0, result.output
    for text in ("ant", "cat", "dog", "Σ sample weight", "Kish ESS of the sample weights"):
        assert text in result.stdout


def test_user_file_without_weights(tmp_path: Path) -> None:
    path = tmp_path / "animals.csv"
    _user_frame().to_csv(path, index=False)
    report = _json("inspect", "--data", str(path), "--target", "animal")
    assert report["weighted_counts"] is None
    assert report["effective_sample_size"] == pytest.approx(20.0)
    assert report["imbalance_ratio"] == pytest.approx(6.0)


def _write_error_files(tmp_path: Path) -> dict[str, Path]:
    good = _user_frame()
    files = {"good": tmp_path / "good.csv"}
    good.to_csv(files["good"], index=False)
    one = good.assign(animal="cat")
    files["one_class"] = tmp_path / "one.csv"
    one.to_csv(files["one_class"], index=False)
    nan = good.astype({"animal": object})
    nan.loc[5, "animal"] = None
    files["nan_target"] = tmp_path / "nan.parquet"
    nan.to_parquet(files["nan_target"])
    bad_w = good.copy()
    bad_w.loc[3, "weight"] = -2.0
    files["negative_weight"] = tmp_path / "neg.csv"
    bad_w.to_csv(files["negative_weight"], index=False)
    nan_w = good.copy()
    nan_w.loc[7, "weight"] = np.nan
    files["nan_weight"] = tmp_path / "nanw.csv"
    nan_w.to_csv(files["nan_weight"], index=False)
    files["xlsx"] = tmp_path / "data.xlsx"
    files["xlsx"].write_text("x")
    return files


ERROR_CASES: list[tuple[str, list[str], str]] = [
    ("missing file", ["--data", "{missing}", "--target", "animal"], "file not found"),
    ("unsupported suffix", ["--data", "{xlsx}", "--target", "animal"], "unsupported file type"),
    ("unknown target", ["--data", "{good}", "--target", "animl"], "available columns"),
    (
        "unknown weight column",
        ["--data", "{good}", "--target", "animal", "--weight-column", "w"],
        "weight column 'w' not found",
    ),
    ("one class", ["--data", "{one_class}", "--target", "animal"], "only one class"),
    ("NaN target", ["--data", "{nan_target}", "--target", "animal"], "row 5"),
    (
        "negative weight",
        ["--data", "{negative_weight}", "--target", "animal", "--weight-column", "weight"],
        "negative value -2.0 in row 3",
    ),
    (
        "NaN weight",
        ["--data", "{nan_weight}", "--target", "animal", "--weight-column", "weight"],
        "NaN (empty) in row 7",
    ),
    ("data without target", ["--data", "{good}"], "--target"),
    ("target without data", ["--target", "animal"], "--data"),
    ("seed with data", ["--data", "{good}", "--target", "animal", "--seed", "3"], "built-in"),
    ("ratio below 1", ["--imbalance-ratio", "0.5"], "--imbalance-ratio"),
    ("ratio not a number", ["--imbalance-ratio", "ten"], "--imbalance-ratio"),
    ("negative seed", ["--seed", "-1"], "--seed"),
    ("seed not an integer", ["--seed", "1.5"], "--seed"),
    ("beta out of range", ["--beta", "1.5"], "--beta"),
    ("unknown option", ["--bogus"], "--bogus"),
]


@pytest.mark.parametrize(
    ("args", "expected"), [c[1:] for c in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
@pytest.mark.parametrize("json_flag", [False, True], ids=["table", "json"])
def test_user_mistakes_exit_2_with_one_line(
    tmp_path: Path, args: list[str], expected: str, json_flag: bool
) -> None:
    files = {k: str(v) for k, v in _write_error_files(tmp_path).items()}
    files["missing"] = str(tmp_path / "missing.csv")
    argv = ["inspect", *(a.format(**files) for a in args)] + (["--json"] if json_flag else [])
    result = runner.invoke(app, argv)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.output


def test_unknown_command_is_one_line() -> None:
    result = _invoke("frobnicate")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and len(result.stderr.splitlines()) == 1


def test_no_arguments_and_help() -> None:
    result = _invoke()
    assert result.exit_code == 0 and "inspect" in result.stdout
    result = _invoke("inspect", "--help")
    assert result.exit_code == 0
    for option in ("--data", "--target", "--weight-column", "--imbalance-ratio", "--json"):
        assert option in result.stdout


def test_main_entry_point(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["inspect", "--json", "--imbalance-ratio", "2"])
    assert exc.value.code == 0
    assert json.loads(capsys.readouterr().out)["data"]["imbalance_ratio"] == 2.0


def _console_script() -> list[str]:
    script = Path(sys.executable).with_name("weightwise")
    return [str(script)] if script.exists() else [sys.executable, "-m", "weightwise.cli"]


def test_console_script_reports_error_without_traceback(tmp_path: Path) -> None:
    # CliRunner covers the successful runs; this checks the real entry point end to end.
    path = tmp_path / "animals.parquet"
    _user_frame().to_parquet(path)
    bad = subprocess.run(
        [*_console_script(), "inspect", "--data", str(path), "--target", "nope", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.startswith("error: target column 'nope' not found")
    assert len(bad.stderr.splitlines()) == 1
