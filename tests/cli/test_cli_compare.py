"""`weightwise compare` end to end: outputs, determinism, the LT result, escaping, user errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from weightwise.cli import main
from weightwise.cli._app import app

runner = CliRunner()


def _run(args: list[str]):
    return runner.invoke(app, args, prog_name="weightwise")


def _results(out: Path) -> dict:
    return json.loads((out / "results.json").read_text())


def test_builtin_run_writes_results_and_report(tmp_path):
    out = tmp_path / "run"
    r = _run(["compare", "--epochs", "3", "--strategies", "none,balanced,resample", "--out",
              str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    res = _results(out)
    assert res["schema_version"] == 3
    assert res["selection"] == {"metric": "balanced_accuracy", "split": "val",
                                "epoch_rule": "last"}  # fmt: skip
    assert set(res["recommendation"]) == {"strategy", "metric", "val", "vs_none", "verdict"}
    for key in ("val", "vs_none"):
        assert set(res["recommendation"][key]) == {"diff", "ci95", "significant"}
    assert set(res["strategies"]) == {"none", "balanced", "resample"}
    for st in res["strategies"].values():
        assert set(st["test"]) >= {"accuracy", "balanced_accuracy", "f1_score", "log_loss",
                                   "calibration_error", "auroc", "rare_recall",
                                   "worst_class_recall"}  # fmt: skip
        assert st["test_prior_corrected"].keys() == st["test"].keys()
        assert st["val"].keys() == {*st["test"], "epoch"} and st["val"]["epoch"] == 3
        assert [h["epoch"] for h in st["history"]] == [1, 2, 3]
        assert {"train_loss", "train_ce_unweighted", "val_loss_unweighted",
                "val_loss_as_trained"} <= set(st["history"][0])  # fmt: skip
    html = (out / "report.html").read_text()
    assert "<h2>Ranking (by validation balanced acc.)</h2>" in html
    assert "data:image/png;base64," in html
    assert html.index("Recommendation:") < html.index("Ranking (by validation")
    for png in ("curves", "recall_vs_frequency", "confusion_matrices", "reliability", "forest"):
        assert (out / f"{png}.png").stat().st_size > 1000


def test_same_seed_same_numbers(tmp_path):
    args = ["compare", "--epochs", "2", "--strategies", "none,focal,sqrt_resample,ldam_drw"]
    assert _run([*args, "--out", str(tmp_path / "a")]).exit_code == 0
    assert _run([*args, "--out", str(tmp_path / "b")]).exit_code == 0
    assert (tmp_path / "a" / "results.json").read_text() == (
        tmp_path / "b" / "results.json"
    ).read_text()


def test_rebalancing_beats_none_on_long_tailed_digits(tmp_path):
    # Measured on the built-in digits-LT at imbalance ratio 50 with the default budget.
    out = tmp_path / "lt"
    r = _run(["compare", "--imbalance-ratio", "50", "--strategies",
              "none,balanced,logit_adjusted,resample", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    res = _results(out)
    assert res["dataset"]["imbalance_ratio"] >= 50
    bacc = {n: s["test"]["balanced_accuracy"] for n, s in res["strategies"].items()}
    assert max(bacc[n] for n in ("balanced", "logit_adjusted", "resample")) > bacc["none"]
    # The rare classes are where the gain comes from.
    rare = {n: s["test"]["rare_recall"] for n, s in res["strategies"].items()}
    assert max(rare.values()) > rare["none"]


def _table(tmp_path: Path, name: str = "t.csv", *, with_time: bool = False, **overrides) -> Path:
    rng = np.random.default_rng(0)
    n = 120
    y = np.where(rng.random(n) < 0.8, "cat", "<script>x</script>")
    df = pd.DataFrame(
        {
            "<script>alert(1)</script>": rng.normal(size=n) + (y == "cat"),
            "color": rng.choice(["red", "blue"], size=n),
            "label": y,
            "w": rng.random(n) + 0.1,
            "when": pd.date_range("2024-01-01", periods=n, freq="D").astype(str),
        }
    )
    if not with_time:
        df = df.drop(columns=["when"])
    for k, v in overrides.items():
        df[k] = v
    path = tmp_path / name
    df.to_csv(path, index=False)
    return path


def test_user_table_is_escaped_weighted_and_recency(tmp_path):
    path = _table(tmp_path, with_time=True)
    out = tmp_path / "u"
    r = _run(["compare", "--data", str(path), "--target", "label", "--weight-column", "w",
              "--time-column", "when", "--half-life", "30", "--epochs", "2", "--strategies",
              "none,balanced", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    html = (out / "report.html").read_text()
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    res = _results(out)
    assert res["dataset"]["sample_weights"] is True
    assert "val_loss_weighted" in res["strategies"]["none"]["history"][0]


def test_cost_matrix_ranks_by_expected_cost(tmp_path):
    path = _table(tmp_path)
    costs = tmp_path / "c.csv"
    costs.write_text("0,1\n10,0\n")
    out = tmp_path / "c"
    r = _run(["compare", "--data", str(path), "--target", "label", "--cost-matrix", str(costs),
              "--epochs", "2", "--strategies", "none,balanced", "--out", str(out)])  # fmt: skip
    assert r.exit_code == 0, r.output
    res = _results(out)
    assert res["config"]["rank_by"] == "expected_cost"
    assert res["selection"]["metric"] == "expected_cost"
    exp = {n: s["val"]["expected_cost"] for n, s in res["strategies"].items()}
    assert res["ranking"] == sorted(exp, key=lambda n: exp[n])


def test_impute_and_user_splits(tmp_path):
    vals = np.ones(120)
    vals[5] = np.nan
    path = _table(tmp_path, num=vals)
    r = _run(["compare", "--data", str(path), "--target", "label", "--epochs", "1",
              "--strategies", "none", "--out", str(tmp_path / "x")])  # fmt: skip
    assert r.exit_code == 2 and "--impute median" in r.output
    val = _table(tmp_path, "v.csv", num=np.ones(120))
    r = _run(["compare", "--data", str(path), "--target", "label", "--impute", "median",
              "--epochs", "1", "--strategies", "none", "--val-data", str(val),
              "--out", str(tmp_path / "y")])  # fmt: skip
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["--data", "missing.csv", "--target", "label"], "not found"),
        (["--data", "{table}", "--target", "nope"], "nope"),
        (["--data", "{single}", "--target", "label"], "only one class"),
        (["--data", "{text}", "--target", "label"], "cannot be one-hot encoded"),
        (["--data", "{nan}", "--target", "label"], "--impute median"),
        (["--strategies", "none,magic"], "unknown strategy 'magic'"),
        (["--dataset", "imagenet"], "unknown dataset"),
        (["--epochs", "0"], "--epochs must be a positive integer"),
        (["--target", "label"], "needs --data"),
    ],
)
def test_user_mistakes_exit_2_with_one_line(tmp_path, capsys, args, message):
    files = {
        "{table}": _table(tmp_path),
        "{single}": _table(tmp_path, "s.csv", label=["a"] * 120),
        "{text}": _table(tmp_path, "x.csv", color=[f"c{i}" for i in range(120)]),
        "{nan}": _table(tmp_path, "n.csv", num=[np.nan] + [1.0] * 119),
    }
    argv = ["compare", *[str(files.get(a, a)) for a in args], "--out", str(tmp_path / "o")]
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err
