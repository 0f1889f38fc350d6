"""The recommendation: chosen on validation against ``none``, then reported on test.

1. Every strategy's validation score of the selection metric is bootstrapped, paired over
   validation examples (and seeds): ``d* = score*(strategy) − score*(none)``.
2. Each strategy other than ``none`` gets a two-sided bootstrap p-value; Holm's step-down
   procedure adjusts them over the ``m`` strategies. The top of the validation ranking is
   recommended when its Holm-adjusted p-value is below ``α`` *and* its percentile interval at
   its Holm level (``1 − α/(m − j)`` at step ``j``) excludes 0; otherwise ``none`` is.
3. On test, the same paired bootstrap over test examples gives each strategy's difference to
   ``none`` and to the recommended strategy with a plain 95% interval (a report, not a choice).

See docs/compare.md for the references.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._stats import bootstrap_scores, example_stats, holm, interval, p_value, resampled_metric

if TYPE_CHECKING:
    from ._engine import CompareConfig, CompareData, _Run

__all__ = ["decide", "decide_scores", "tie_warning"]

REFERENCE = "none"


def rare_classes(counts: np.ndarray) -> np.ndarray:
    c = len(counts)
    return np.argsort(counts, kind="stable")[: max(1, math.ceil(c / 3))]


def run_stats(
    r: _Run, split: str, y: np.ndarray, w: np.ndarray | None, cfg: CompareConfig,
    rare: np.ndarray,
) -> Any:  # fmt: skip
    """The bootstrap's per-example statistics of one run on ``split`` (kept on the run once
    computed, so that its probabilities can be dropped for many classes)."""
    cached = r.stats.get(split)
    if cached is not None:
        return cached
    probs = r.val_probs if split == "val" else r.test_probs
    assert probs is not None
    return example_stats(
        probs,
        y,
        w,
        metric=cfg.rank_by,
        rare=rare,
        cost_matrix=cfg.cost_matrix,
        positive=1 if cfg.task == "binary" else None,
    )


def _bootstrap(
    names: list[str],
    runs: dict[str, list[_Run]],
    split: str,
    y: np.ndarray,
    w: np.ndarray | None,
    cfg: CompareConfig,
    rare: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    metric = cfg.rank_by
    stats = [[run_stats(r, split, y, w, cfg, rare) for r in runs[n]] for n in names]
    return bootstrap_scores(
        lambda s, k, R: resampled_metric(metric, stats[s][k], R),
        num_strategies=len(names),
        num_seeds=cfg.seeds,
        num_examples=len(y),
        n_boot=cfg.n_boot,
        seed=cfg.seed + (0 if split == "val" else 1),
    )


def _entry(diff: float, ci: list[float], significant: bool, **extra: Any) -> dict[str, Any]:
    return {"diff": float(diff), "ci95": ci, "significant": bool(significant), **extra}


def _excludes_zero(ci: list[float]) -> bool:
    return bool(ci[0] > 0 or ci[1] < 0)


def decide(
    data: CompareData,
    cfg: CompareConfig,
    runs: dict[str, list[_Run]],
    ranking: list[str],
) -> dict[str, Any]:
    """The ``recommendation``, ``warnings`` and each strategy's ``vs_none``/``vs_recommended``."""
    from ._engine import HIGHER_IS_BETTER

    names = list(runs)
    metric = cfg.rank_by
    rare = rare_classes(data.counts)
    has_test = data.y_test is not None and all(
        r.test_probs is not None or "test" in r.stats for r in runs[names[0]]
    )
    val_means = {n: float(np.mean([r.record["val"][metric] for r in runs[n]])) for n in names}
    warnings = tie_warning(names, ranking, val_means, metric)
    for split, y in (("validation", data.y_val), ("test", data.y_test)):
        if y is None:
            continue
        n_c = np.bincount(y, minlength=data.num_classes)
        tiny = [data.class_names[c] for c in np.flatnonzero(n_c < 5)]
        if tiny:
            shown = ", ".join(repr(t) for t in tiny[:10]) + (" …" if len(tiny) > 10 else "")
            warnings.append(
                f"{len(tiny)} class(es) have fewer than 5 {split} rows ({shown}): their "
                f"scores, and intervals that rest on them, are noisy"
            )

    return decide_scores(
        names,
        ranking,
        metric=metric,
        higher_is_better=HIGHER_IS_BETTER.get(metric, True),
        alpha=cfg.alpha,
        val_means=val_means,
        boot_val=lambda: _bootstrap(names, runs, "val", data.y_val, data.w_val, cfg, rare),
        boot_test=(
            None
            if not has_test or (y_test := data.y_test) is None
            else (lambda: _bootstrap(names, runs, "test", y_test, data.w_test, cfg, rare))
        ),
        warnings=warnings,
    )


BootFn = Callable[[], tuple[np.ndarray, np.ndarray]]


def tie_warning(names: list[str], ranking: list[str], val_means: dict[str, float],
                metric: str) -> list[str]:  # fmt: skip
    """A warning naming the strategies tied at the top of the validation ranking, if any."""
    tied = [n for n in ranking if val_means[n] == val_means[ranking[0]]]
    if len(tied) > 1:
        return [
            f"tie: {', '.join(tied)} have the same validation {metric} "
            f"({val_means[ranking[0]]:.4f}); the first listed is ranked first"
        ]
    return []


def decide_scores(
    names: list[str],
    ranking: list[str],
    *,
    metric: str,
    higher_is_better: bool,
    alpha: float,
    val_means: dict[str, float],
    boot_val: BootFn,
    boot_test: BootFn | None,
    warnings: list[str],
) -> dict[str, Any]:
    """The decision of any task from its paired bootstraps.

    ``boot_val()`` / ``boot_test()`` return ``(point (S,), boot (S, B))`` of every strategy in
    ``names`` order (:func:`weightwise.comparison._stats.bootstrap_scores`).
    """
    per: dict[str, dict[str, Any]] = {n: {} for n in names}
    level_note = f"Holm-corrected over the strategies compared to {REFERENCE}"
    if REFERENCE not in names:
        top = ranking[0]
        return {
            "recommendation": {
                "strategy": top,
                "metric": metric,
                "val": None,
                "vs_none": None,
                "verdict": f"{top} ranks first on validation {metric}; {REFERENCE} was not "
                "run, so nothing tests it against plain training.",
            },
            "warnings": warnings,
            "per_strategy": per,
        }

    ref = names.index(REFERENCE)
    point, boot = boot_val()
    others = [i for i, n in enumerate(names) if n != REFERENCE]
    diffs = {i: boot[i] - boot[ref] for i in others}
    p = [p_value(diffs[i]) for i in others]
    p_adj, divisor = holm(p) if others else (np.array([]), np.array([], dtype=np.int64))
    for j, i in enumerate(others):
        level = 1 - alpha / int(divisor[j])
        ci = interval(diffs[i], level)
        sig = bool(p_adj[j] < alpha and _excludes_zero(ci))
        per[names[i]]["vs_none"] = {
            "val": _entry(
                point[i] - point[ref],
                ci,
                sig,
                level=level,
                p_value=p[j],
                p_holm=float(p_adj[j]),
            )
        }
    per[REFERENCE]["vs_none"] = {"val": _entry(0.0, [0.0, 0.0], False, level=0.95)}

    top = ranking[0]
    better = higher_is_better
    if top != REFERENCE and per[top]["vs_none"]["val"]["significant"]:
        chosen = top
    else:
        chosen = REFERENCE
    rec_val = per[top]["vs_none"]["val"] if top != REFERENCE else per[REFERENCE]["vs_none"]["val"]
    rec_val = {k: rec_val[k] for k in ("diff", "ci95", "significant")}
    if chosen == REFERENCE:
        rec_val = {"diff": 0.0, "ci95": [0.0, 0.0], "significant": False}

    vs_none_test: dict[str, Any] | None = None
    if boot_test is not None:
        tpoint, tboot = boot_test()
        rec = names.index(chosen)
        for i, n in enumerate(names):
            for key, r in (("vs_none", ref), ("vs_recommended", rec)):
                d = tboot[i] - tboot[r]
                ci = interval(d, 0.95) if i != r else [0.0, 0.0]
                per[n].setdefault(key, {})["test"] = _entry(
                    tpoint[i] - tpoint[r], ci, i != r and _excludes_zero(ci)
                )
        t = per[chosen]["vs_none"]["test"]
        vs_none_test = {k: t[k] for k in ("diff", "ci95", "significant")}

    direction = "higher" if better else "lower"

    def fmt(e: dict[str, Any]) -> str:
        pct = 100 * e.get("level", 0.95)
        return f"{e['diff']:+.3f} ({pct:.4g}% interval [{e['ci95'][0]:+.3f}, {e['ci95'][1]:+.3f}])"

    if chosen != REFERENCE:
        verdict = (
            f"{chosen} beat plain training (none) on validation {metric} ({direction} is "
            f"better) by {fmt(per[chosen]['vs_none']['val'])}, {level_note}"
        )
        if vs_none_test is not None:
            agrees = vs_none_test["significant"] and (vs_none_test["diff"] > 0) == better
            verdict += f"; on test the difference is {fmt(vs_none_test)}" + (
                ", which confirms it." if agrees else ", which does not confirm it."
            )
        else:
            verdict += "."
    elif top == REFERENCE:
        verdict = (
            f"No strategy beat plain training (none): none itself ranks first on validation "
            f"{metric}, so none is recommended."
        )
    else:
        verdict = (
            f"No strategy beat plain training (none) beyond the noise: the best on validation, "
            f"{top}, differs from none by {fmt(per[top]['vs_none']['val'])}, {level_note}, an "
            f"interval that does not exclude 0 at that level; none is recommended."
        )
    return {
        "recommendation": {
            "strategy": chosen,
            "metric": metric,
            "val": rec_val,
            "vs_none": vs_none_test,
            "verdict": verdict,
        },
        "warnings": warnings,
        "per_strategy": per,
    }
