"""The `weightwise compare` report: PNG figures and one self-contained HTML file.

Every string that comes from the user (file names, column names, class labels) goes through
``html.escape`` before it reaches the HTML.
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["render_report", "write_outputs"]

METRIC_LABELS = {
    "balanced_accuracy": "balanced acc.",
    "accuracy": "accuracy",
    "f1_score": "macro F1",
    "rare_recall": "rare-third recall",
    "worst_class_recall": "worst-class recall",
    "log_loss": "log loss",
    "calibration_error": "ECE",
    "auroc": "macro AUROC",
    "expected_cost": "expected cost",
    "precision": "precision (positive)",
    "recall": "recall (positive)",
    "average_precision": "average precision",
    "macro_f1": "macro F1",
    "micro_f1": "micro F1",
    "macro_average_precision": "macro AP",
    "precision_at_k": "precision@k",
    "subset_accuracy": "subset accuracy",
    "miou": "mIoU",
    "mean_dice": "mean Dice",
    "pixel_balanced_accuracy": "pixel balanced acc.",
    "pixel_accuracy": "pixel accuracy",
}


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4f}"
    return _e(v)


def _figures(results: dict[str, Any], out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if results.get("task") in ("multilabel", "segmentation"):
        return _task_figures(results, out)
    strategies = results["strategies"]
    ranking = results["ranking"]
    ds = results["dataset"]
    names = list(strategies)

    # Ten distinct hues, then the same hues dashed, then dotted: no two lines look alike.
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(names)}
    styles = {n: ("-", "--", ":", "-.")[(i // 10) % 4] for i, n in enumerate(names)}
    paths: dict[str, Path] = {}

    weighted = any("val_loss_weighted" in strategies[n]["history"][0] for n in names)
    panels = [
        ("train_loss", "training loss, as optimised"),
        ("train_ce_unweighted", "training CE, unweighted"),
        ("val_loss_unweighted", "validation CE, unweighted"),
        ("val_loss_weighted", "validation CE, weighted by your weights")
        if weighted
        else ("val_loss_as_trained", "validation loss, as optimised (class-weighted)"),
    ]
    paths["curves"] = _curves_png(plt, strategies, names, panels, colors, styles, out)

    per_class = all(isinstance(strategies[n]["per_class_recall"], list) for n in names)
    counts = np.asarray(ds["train_counts"], dtype=float)
    order = np.argsort(-counts, kind="stable")
    fig, ax = plt.subplots(figsize=(9, 4.5))
    for n in names if per_class else []:
        rec = np.asarray(strategies[n]["per_class_recall"])[order]
        ax.plot(counts[order], rec, marker="o", ms=3, label=n, color=colors[n], linestyle=styles[n])
    ax.set_xscale("log")
    ax.invert_xaxis()
    ax.set_xlabel("training samples of the class (log scale, head → tail)")
    ax.set_ylabel("test recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=3)
    fig.tight_layout()
    paths["recall"] = out / "recall_vs_frequency.png"
    fig.savefig(paths["recall"], dpi=90)
    plt.close(fig)

    shown = [ranking[0]] + (["none"] if "none" in strategies and ranking[0] != "none" else [])
    fig, axes_cm = plt.subplots(1, len(shown), figsize=(5.2 * len(shown), 4.6), squeeze=False)
    for ax, n in zip(axes_cm[0], shown, strict=True):
        if strategies[n]["confusion_matrix"] is None:
            ax.set_axis_off()
            ax.set_title(f"{n}: confusion matrix not recorded (> 100 classes)", fontsize=9)
            continue
        cm = np.asarray(strategies[n]["confusion_matrix"], dtype=float)
        rows = cm.sum(axis=1, keepdims=True)
        norm = cm / np.where(rows > 0, rows, 1)
        ax.imshow(norm, vmin=0, vmax=1, cmap="Blues")
        ax.set_title(f"{n}: confusion (rows: true, normalised)", fontsize=9)
        k = len(cm)
        class_names = [str(c)[:12] for c in ds["class_names"]]
        if k <= 30:
            ax.set_xticks(range(k), class_names, rotation=90 if k > 10 else 0, fontsize=7)
            ax.set_yticks(range(k), class_names, fontsize=7)
        if k <= 15:
            for i in range(k):
                for j in range(k):
                    if cm[i, j]:
                        ax.text(j, i, f"{cm[i, j]:g}", ha="center", va="center", fontsize=6,
                                color="white" if norm[i, j] > 0.5 else "black")  # fmt: skip
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
    fig.tight_layout()
    paths["confusion"] = out / "confusion_matrices.png"
    fig.savefig(paths["confusion"], dpi=90)
    plt.close(fig)

    fig, axes_r = plt.subplots(1, len(shown), figsize=(5.2 * len(shown), 4.2), squeeze=False)
    for ax, n in zip(axes_r[0], shown, strict=True):
        rel = strategies[n]["reliability"]
        bins = len(rel["mass"])
        centers = (np.arange(bins) + 0.5) / bins
        ax.bar(centers, rel["accuracy"], width=1 / bins, alpha=0.6, edgecolor="k", label="accuracy")
        for x_c, a, cnt in zip(centers, rel["accuracy"], rel.get("count", []), strict=False):
            if cnt:
                ax.text(x_c, a + 0.02, f"{cnt:g}", ha="center", fontsize=6)
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect calibration")
        ax.set_title(f"{n}: reliability diagram (rows per bin above the bars)", fontsize=9)
        ax.set_xlabel("confidence")
        ax.set_ylabel("accuracy in bin")
        ax.legend(fontsize=7)
    fig.tight_layout()
    paths["reliability"] = out / "reliability.png"
    fig.savefig(paths["reliability"], dpi=90)
    plt.close(fig)

    if all("pr_curve" in strategies[n] for n in names):  # binary
        pos = ds.get("positive_class", "positive")
        paths["pr_curves"] = _pr_png(
            plt,
            strategies,
            [n for n in names if not n.endswith("+threshold")],  # same scores as its base
            colors,
            styles,
            out,
            xlabel=f"recall of {str(pos)[:20]}",
            title="test precision-recall curves (positive class)",
        )
    _forest(results, out, paths)
    return paths


def _line_style(styles: dict[str, str] | None, n: str) -> dict[str, str]:
    return {} if styles is None else {"linestyle": styles[n]}


def _curves_png(
    plt: Any,
    strategies: dict[str, Any],
    names: list[str],
    panels: list[tuple[str, str]],
    colors: dict[str, Any],
    styles: dict[str, str] | None,
    out: Path,
    *,
    linear: str | None = None,
) -> Path:
    """``curves.png``: each panel's history key per strategy; log scale when the values span
    more than 20× (e.g. LDAM's scaled loss next to CE), except for the key ``linear``."""
    from matplotlib.ticker import MaxNLocator

    fig, axes = plt.subplots(2, 2, figsize=(11, 7.5), sharex=True)
    for ax, (key, title) in zip(axes.ravel(), panels, strict=True):
        for n in names:
            hist = strategies[n]["history"]
            ax.plot(
                [h["epoch"] for h in hist],
                [h[key] for h in hist],
                label=n,
                color=colors[n],
                **_line_style(styles, n),
            )
        values = [h[key] for n in names for h in strategies[n]["history"] if h[key] > 0]
        if values and max(values) / min(values) > 20 and key != linear:
            ax.set_yscale("log")
            title += " (log scale)"
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path = out / "curves.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _pr_png(
    plt: Any,
    strategies: dict[str, Any],
    names: list[str],
    colors: dict[str, Any],
    styles: dict[str, str] | None,
    out: Path,
    *,
    xlabel: str,
    title: str,
) -> Path:
    """``pr_curves.png``: the test precision-recall curve of each strategy in ``names``."""
    fig, ax = plt.subplots(figsize=(6.5, 5))
    for n in names:
        pr = strategies[n]["pr_curve"]
        ax.plot(pr["recall"], pr["precision"], label=n, color=colors[n], **_line_style(styles, n))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("precision")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path = out / "pr_curves.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _task_figures(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Multi-label and segmentation figures: curves, per-class scores, PR curves (multi-label),
    image / mask / prediction overlays (segmentation), and the forest plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    strategies = results["strategies"]
    ranking = results["ranking"]
    ds = results["dataset"]
    task = results["task"]
    metric = results["selection"]["metric"]
    names = [n for n in strategies if not n.endswith("+threshold")]
    cmap = plt.get_cmap("tab10")
    colors = {n: cmap(i % 10) for i, n in enumerate(names)}
    paths: dict[str, Path] = {}

    weighted = any("val_loss_weighted" in strategies[n]["history"][0] for n in names)
    plain = "BCE" if task == "multilabel" else "pixel CE"
    panels = [
        ("train_loss", "training loss, as optimised"),
        ("val_loss_unweighted", f"validation {plain}, unweighted"),
        ("val_loss_weighted", f"validation {plain}, weighted by your weights")
        if weighted
        else ("val_loss_as_trained", "validation loss, as optimised"),
        (f"val_{metric}", f"validation {METRIC_LABELS.get(metric, metric)}"),
    ]
    paths["curves"] = _curves_png(
        plt, strategies, names, panels, colors, None, out, linear=f"val_{metric}"
    )

    key = "f1" if task == "multilabel" else "iou"
    shown = [ranking[0]] + (["none"] if "none" in strategies and ranking[0] != "none" else [])
    if all(isinstance(strategies[n]["per_class"][key], list) for n in shown):
        labels = [str(c)[:14] for c in ds["class_names"]]
        x = np.arange(len(labels))
        fig, ax = plt.subplots(figsize=(max(6.0, 0.5 * len(labels) + 2), 4.2))
        width = 0.8 / len(shown)
        for i, n in enumerate(shown):
            v = np.asarray(strategies[n]["per_class"][key], dtype=float)
            ax.bar(x + (i - (len(shown) - 1) / 2) * width, np.nan_to_num(v), width, label=n)
        ax.set_xticks(x, labels, rotation=90 if len(labels) > 12 else 0, fontsize=7)
        unit = "label" if task == "multilabel" else "class"
        ax.set_ylabel(f"test {'F1' if key == 'f1' else 'IoU'} per {unit}")
        ax.set_ylim(0, 1)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3, axis="y")
        fig.tight_layout()
        paths["per_class"] = out / "per_class.png"
        fig.savefig(paths["per_class"], dpi=90)
        plt.close(fig)

    if task == "multilabel" and all("pr_curve" in strategies[n] for n in names):
        paths["pr_curves"] = _pr_png(
            plt,
            strategies,
            names,
            colors,
            None,
            out,
            xlabel="recall (micro, all labels)",
            title="test precision-recall curves (micro-averaged)",
        )

    ex = results.get("examples")
    if task == "segmentation" and ex:
        from matplotlib.colors import ListedColormap

        k = ds["num_classes"]
        base = plt.get_cmap("tab20" if k > 10 else "tab10")
        palette = ListedColormap([base(i % base.N) for i in range(k)] + [(0.55, 0.55, 0.55, 1)])
        ignore = ds.get("ignore_index")

        def show(mask: Any) -> np.ndarray:
            m = np.asarray(mask)
            return np.where((m == ignore) if ignore is not None else False, k, m)

        cols = ["image", "true mask", *(f"{n}" for n in shown)]
        rows = len(ex["image"])
        fig, axes_o = plt.subplots(rows, len(cols), figsize=(2.2 * len(cols), 2.2 * rows),
                                   squeeze=False)  # fmt: skip
        for r in range(rows):
            panels_o = [np.asarray(ex["image"][r]), show(ex["mask"][r])]
            panels_o += [show(ex["prediction"][n][r]) for n in shown]
            for c, (ax, img) in enumerate(zip(axes_o[r], panels_o, strict=True)):
                if c == 0:
                    ax.imshow(img, cmap="gray_r")
                else:
                    ax.imshow(img, cmap=palette, vmin=-0.5, vmax=k + 0.5, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                if r == 0:
                    ax.set_title(cols[c], fontsize=8)
        from matplotlib.patches import Patch

        handles = [Patch(color=palette(i), label=str(ds["class_names"][i])) for i in range(k)]
        if ignore is not None:
            handles.append(Patch(color=palette(k), label=f"ignored ({ignore})"))
        fig.legend(handles=handles, loc="lower center", ncol=min(6, len(handles)), fontsize=7)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        paths["overlays"] = out / "overlays.png"
        fig.savefig(paths["overlays"], dpi=90)
        plt.close(fig)

    _forest(results, out, paths)
    return paths


def _forest(results: dict[str, Any], out: Path, paths: dict[str, Path]) -> None:
    """Each strategy's difference to ``none`` with its interval (validation and test)."""
    import matplotlib.pyplot as plt

    strategies = results["strategies"]
    ranking = results["ranking"]
    forest = [n for n in ranking if "val" in strategies[n].get("vs_none", {}) and n != "none"]
    if forest:
        fig, ax = plt.subplots(figsize=(8, 0.45 * len(forest) + 1.4))
        ys = np.arange(len(forest))[::-1]
        for y_pos, n in zip(ys, forest, strict=True):
            vs = strategies[n]["vs_none"]
            for split, dy, col in (("val", 0.12, "#2b6cb0"), ("test", -0.12, "#dd6b20")):
                if split not in vs:
                    continue
                e = vs[split]
                lo, hi = e["ci95"]
                ax.errorbar(
                    e["diff"], y_pos + dy, xerr=[[e["diff"] - lo], [hi - e["diff"]]], fmt="o",
                    color=col, ms=4, capsize=3,
                    label=f"{split} (Holm-corrected)" if split == "val" else "test (95%)",
                )  # fmt: skip
        ax.axvline(0, color="k", lw=1)
        ax.set_yticks(ys, forest)
        ax.set_xlabel(f"{results['selection']['metric']}: strategy − none")
        handles, labels = ax.get_legend_handles_labels()
        uniq = dict(zip(labels, handles, strict=True))
        ax.legend(uniq.values(), uniq.keys(), fontsize=7, loc="best")
        ax.grid(alpha=0.3, axis="x")
        fig.tight_layout()
        paths["forest"] = out / "forest.png"
        fig.savefig(paths["forest"], dpi=90)
        plt.close(fig)


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{data}">'


def _ci(e: dict[str, Any] | None) -> str:
    if not e:
        return ""
    lo, hi = e["ci95"]
    star = " *" if e.get("significant") else ""
    return f"{e['diff']:+.4f} [{lo:+.4f}, {hi:+.4f}]{star}"


def _html(results: dict[str, Any], figs: dict[str, Path]) -> str:
    ds = results["dataset"]
    cfg = results["config"]
    strategies = results["strategies"]
    ranking = results["ranking"]
    sel = results["selection"]
    rec = results["recommendation"]
    metric = sel["metric"]
    has_test = "test" in strategies[ranking[0]]
    task = results.get("task", "multiclass")
    single = task not in ("multilabel", "segmentation")
    split_name = "test" if has_test else "validation"
    scores_of = "test" if has_test else "val"
    metrics = [m for m in METRIC_LABELS if m in strategies[ranking[0]][scores_of]]
    head = "".join(f"<th>{_e(split_name)} {_e(METRIC_LABELS[m])}</th>" for m in metrics)
    rows = []
    for i, n in enumerate(ranking, 1):
        st = strategies[n]
        vs = st.get("vs_none", {})
        cells = "".join(f"<td>{_fmt(st[scores_of][m])}</td>" for m in metrics)
        pc_value = st.get("test_prior_corrected", {}).get("balanced_accuracy")
        pc = (
            f"<td>{_fmt(pc_value) if pc_value is not None else ''}</td>"
            if has_test and single
            else ""
        )
        mark = " ★" if n == rec["strategy"] else ""
        rows.append(
            f"<tr><td>{i}</td><td><b>{_e(n)}</b>{mark}<br><small>{_e(st['description'])}"
            f"</small></td><td>{_fmt(st['val'][metric])}</td><td>{_e(_ci(vs.get('val')))}</td>"
            f"<td>{_e(_ci(vs.get('test')))}</td>{cells}{pc}</tr>"
        )
    names = ds["class_names"]
    counts = ds["train_counts"]
    test_counts = ds.get("test_counts")
    per_class_head = "".join(f"<th>{_e(n)}</th>" for n in ranking)
    per_class_rows = []
    per_class = single and all(isinstance(strategies[n]["per_class_recall"], list) for n in ranking)
    for c, (cname, cnt) in enumerate(zip(names, counts, strict=True) if per_class else []):
        cells = "".join(f"<td>{_fmt(strategies[n]['per_class_recall'][c])}</td>" for n in ranking)
        tc = f"<td>{test_counts[c]}</td>" if test_counts is not None else ""
        per_class_rows.append(f"<tr><td>{_e(cname)}</td><td>{cnt}</td>{tc}{cells}</tr>")
    source = ", ".join(
        f"{_e(k)}: {_e(v)}"
        for k, v in ds.items()
        if k not in ("class_names", "train_counts", "test_counts")
    )
    warnings = "".join(f"<li>{_e(w)}</li>" for w in results.get("warnings", []))
    weighted_note = (
        "Your table carries sample weights: test metrics are weighted by them, and the curves "
        "show the validation loss with and without them."
        if ds.get("sample_weights")
        else "No sample weights were given: the last panel shows the validation loss as each "
        "strategy optimises it (with its class weights), next to the plain, unweighted one. "
        "They differ: a class-weighted validation loss is not the plain validation loss."
    )
    forest = _img(figs["forest"], "differences to none") if "forest" in figs else ""
    tc_head = "<th>test n</th>" if test_counts is not None else ""
    pc_head = "<th>test balanced acc. after prior correction</th>" if has_test and single else ""
    if single:
        lower = _lower_single(
            figs, split_name, per_class_head, tc_head, per_class_rows, weighted_note
        )
    else:
        lower = _lower_task(results, figs, split_name)
    hidden = f" {_e(cfg['hidden'])}" if cfg.get("hidden") else ""  # the MLP's layer sizes only
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>weightwise compare</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1200px; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }}
th, td {{ border: 1px solid #ccc; padding: 4px 8px; text-align: right; }}
td:nth-child(2), th:nth-child(2) {{ text-align: left; }}
img {{ max-width: 100%; margin: 0.5em 0; }}
small {{ color: #666; }}
.verdict {{ font-size: 1.15em; background: #f3f6fa; border-left: 4px solid #2b6cb0;
  padding: 0.6em 1em; }}
</style></head><body>
<h1>weightwise compare</h1>
<h2>Recommendation: {_e(rec["strategy"])}</h2>
<p class="verdict">{_e(rec["verdict"])}</p>
{f"<ul>{warnings}</ul>" if warnings else ""}
{forest}
<p><small>Selection: validation {_e(metric)}, checkpoint rule {_e(sel["epoch_rule"])}
epoch. Differences are strategy − none; validation intervals are paired-bootstrap percentile
intervals over validation examples{" and seeds" if cfg.get("seeds", 1) > 1 else ""}
({_e(cfg.get("n_boot"))} resamples), Holm-corrected; test intervals are plain 95% paired
bootstrap intervals (a report, never a choice). * marks an interval that excludes 0.</small></p>
<h2>Ranking (by validation {_e(METRIC_LABELS.get(metric, metric))})</h2>
<table><tr><th>#</th><th>strategy</th><th>val {_e(METRIC_LABELS.get(metric, metric))}</th>
<th>val diff vs none [interval]</th><th>test diff vs none [95%]</th>{head}{pc_head}</tr>
{"".join(rows)}</table>
<p>{source}</p>
<p>Same model ({_e(cfg["model"])}{hidden}), same initialisation and seed
({_e(cfg["seed"])}, {_e(cfg.get("seeds", 1))} seed(s)), {_e(cfg["epochs"])} epochs of
{_e(cfg["optimizer"])} (lr {_e(cfg["lr"])}, batch {_e(cfg["batch_size"])}) for every
strategy.</p>
{lower}
<p><small>schema_version {results["schema_version"]}; the numbers are in results.json.</small></p>
</body></html>
"""


def _lower_single(
    figs: dict[str, Path],
    split_name: str,
    per_class_head: str,
    tc_head: str,
    per_class_rows: list[str],
    weighted_note: str,
) -> str:
    pr = ""
    if "pr_curves" in figs:
        pr = "<h2>Precision-recall curves (test)</h2>\n" + _img(figs["pr_curves"], "PR curves")
    return f"""<p><small>Prior correction moves each model's probabilities from the class prior
it was trained under (π<sub>c</sub> ∝ n<sub>c</sub>·κ<sub>c</sub>) to a uniform one.</small></p>
<h2>Per-class recall against class frequency ({_e(split_name)})</h2>
{_img(figs["recall"], "per-class recall")}
<table><tr><th>class</th><th>train n</th>{tc_head}{per_class_head}</tr>
{"".join(per_class_rows)}</table>
{pr}<h2>Training and validation curves, weighted and unweighted</h2>
<p>{_e(weighted_note)}</p>
{_img(figs["curves"], "curves")}
<h2>Confusion matrices ({_e(split_name)})</h2>
{_img(figs["confusion"], "confusion matrices")}
<h2>Reliability diagrams ({_e(split_name)})</h2>
{_img(figs["reliability"], "reliability diagrams")}
"""


def _lower_task(results: dict[str, Any], figs: dict[str, Path], split_name: str) -> str:
    """The per-task sections of a multi-label or segmentation report."""
    ds = results["dataset"]
    strategies = results["strategies"]
    ranking = results["ranking"]
    task = results["task"]
    keys = ("f1", "average_precision") if task == "multilabel" else ("iou", "dice")
    unit = "label" if task == "multilabel" else "class"
    count_unit = ds.get("count_unit", "count")
    parts = []
    if "per_class" in figs:
        parts.append(f"<h2>Per-{unit} scores ({_e(split_name)})</h2>")
        parts.append(_img(figs["per_class"], f"per-{unit} scores"))
    # The top three on validation and plain training.
    shown = list(dict.fromkeys(ranking[:3] + (["none"] if "none" in strategies else [])))
    if all(isinstance(strategies[n]["per_class"][keys[0]], list) for n in shown):
        head = "".join(f"<th>{_e(n)} {_e(k)}</th>" for n in shown for k in keys)
        tc = ds.get("test_counts")
        rows = []
        for c, name in enumerate(ds["class_names"]):
            cells = "".join(
                f"<td>{_fmt(strategies[n]['per_class'][k][c])}</td>" for n in shown for k in keys
            )
            t_cell = f"<td>{tc[c]}</td>" if tc is not None else ""
            rows.append(f"<tr><td>{_e(name)}</td><td>{ds['train_counts'][c]}</td>{t_cell}{cells}"
                        "</tr>")  # fmt: skip
        t_head = f"<th>test {_e(count_unit)}</th>" if tc is not None else ""
        parts.append(
            f"<table><tr><th>{unit}</th><th>train {_e(count_unit)}</th>{t_head}{head}</tr>"
            f"{''.join(rows)}</table>"
        )
    if "pr_curves" in figs:
        parts.append("<h2>Precision-recall curves (test, micro-averaged)</h2>")
        parts.append(_img(figs["pr_curves"], "precision-recall curves"))
        k = results["config"].get("precision_at_k")
        parts.append(
            f"<p><small>A +threshold variant scores like its base strategy (same scores); only "
            f"its per-label thresholds differ. precision@k uses k = {_e(k)}, the training "
            "label cardinality rounded.</small></p>"
        )
    if "overlays" in figs:
        parts.append("<h2>Test images, true masks and predictions</h2>")
        parts.append(_img(figs["overlays"], "image, mask and prediction overlays"))
    parts.append("<h2>Training and validation curves</h2>")
    parts.append(_img(figs["curves"], "curves"))
    return "\n".join(parts)


def render_report(results: dict[str, Any], figdir: Path) -> str:
    """The HTML report of ``results`` (figures drawn into ``figdir`` and embedded)."""
    figs = _figures(results, figdir)
    return _html(results, figs)


def write_outputs(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write ``results.json``, the PNG figures and ``report.html`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {"results": out / "results.json"}
    paths["results"].write_text(json.dumps(results, indent=2, sort_keys=False, allow_nan=True))
    figs = _figures(results, out)
    paths.update(figs)
    paths["report"] = out / "report.html"
    paths["report"].write_text(_html(results, figs), encoding="utf-8")
    return paths
