"""weightwise.integrations.transformers with a real transformers.Trainer on tiny randomly
initialised models (no download): gradient accumulation gives the parameters of one big batch,
with class weights, sample weights and token weights."""

from __future__ import annotations

import subprocess
import sys
import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")

from weightwise.integrations.transformers import WeightedLabels, WeightedLoss  # noqa: E402
from weightwise.losses import causal_lm_loss, cross_entropy  # noqa: E402

V, T = 31, 7


@pytest.fixture(autouse=True)
def _no_datasets_package(monkeypatch):
    # The suite's tests/datasets folder is importable as "datasets" under pytest, which makes
    # Trainer believe Hugging Face datasets is installed; these tests pass plain lists.
    import transformers.trainer

    monkeypatch.setattr(transformers.trainer, "is_datasets_available", lambda: False)


def _bert():
    torch.manual_seed(0)
    cfg = transformers.BertConfig(
        vocab_size=V,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=20,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=3,
        max_position_embeddings=16,
    )
    return transformers.BertForSequenceClassification(cfg).double()


def _gpt2():
    torch.manual_seed(0)
    cfg = transformers.GPT2Config(
        vocab_size=V,
        n_embd=16,
        n_layer=1,
        n_head=2,
        n_positions=16,
        resid_pdrop=0.0,
        embd_pdrop=0.0,
        attn_pdrop=0.0,
    )
    return transformers.GPT2LMHeadModel(cfg).double()


def _cls_rows():
    g = torch.Generator().manual_seed(1)
    rows = []
    for i in range(8):
        n = int(torch.randint(3, T + 1, (1,), generator=g))
        rows.append(
            {
                "input_ids": torch.randint(1, V, (n,), generator=g).tolist(),
                "labels": int(torch.randint(0, 3, (1,), generator=g)),
                "sample_weight": float(torch.rand(1, generator=g)) * (10.0 if i < 2 else 1.0),
            }
        )
    return rows


def _lm_rows():
    g = torch.Generator().manual_seed(2)
    rows = []
    for i in range(8):
        n = int(torch.randint(3, T + 1, (1,), generator=g))
        ids = torch.randint(1, V, (n,), generator=g).tolist()
        labels = list(ids)
        labels[1] = -100  # a masked prompt token
        tw = (torch.rand(n, generator=g) * (10.0 if i < 2 else 1.0)).tolist()
        rows.append(
            {"input_ids": ids, "labels": labels, "token_weight": tw, "sequence_weight": 0.5 + i / 8}
        )
    return rows


def _train(model, rows, loss, *, bs, ga, tmp_path, compute_loss_func=None, **extra):
    args = transformers.TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=bs,
        gradient_accumulation_steps=ga,
        max_steps=1,
        learning_rate=0.5,
        optim="sgd",
        lr_scheduler_type="constant",
        weight_decay=0.0,
        max_grad_norm=0.0,
        report_to=[],
        save_strategy="no",
        use_cpu=True,
        remove_unused_columns=False,
        dataloader_drop_last=False,
        logging_strategy="no",
        seed=0,
        disable_tqdm=True,
        **extra,
    )
    trainer = transformers.Trainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=loss.collator(),
        compute_loss_func=compute_loss_func or loss,
    )
    trainer.train()
    return [p.detach().clone() for p in model.parameters()]


def _assert_same(a, b):
    for x, y in zip(a, b, strict=True):
        torch.testing.assert_close(x, y, rtol=1e-9, atol=1e-12)


def _max_diff(a, b):
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


#: The cases of the 2-rank Trainer test (test_transformers_ddp.py): model, rows, loss.
CASES_DDP = {
    "classifier": (
        _bert,
        _cls_rows,
        WeightedLoss(task="sequence_classification", class_weight=[1.0, 4.0, 0.5]),
    ),
    "causal_lm": (
        _gpt2,
        _lm_rows,
        WeightedLoss(task="causal_lm", class_weight=torch.linspace(0.5, 2.0, V)),
    ),
}

CLS_LOSSES = {
    "class_weight": dict(class_weight=[1.0, 4.0, 0.5]),
    "class_weight_mean": dict(class_weight=[1.0, 4.0, 0.5], reduction="mean"),
}


@pytest.mark.parametrize("kind", sorted(CLS_LOSSES))
def test_classifier_accumulation_equals_big_batch(kind, tmp_path):
    loss = WeightedLoss(task="sequence_classification", **CLS_LOSSES[kind])
    rows = _cls_rows()
    start = [p.detach().clone() for p in _bert().parameters()]
    small = _train(_bert(), rows, loss, bs=2, ga=4, tmp_path=tmp_path / "a")
    big = _train(_bert(), rows, loss, bs=8, ga=1, tmp_path=tmp_path / "b")
    assert _max_diff(big, start) > 1e-3  # the step moved the parameters
    _assert_same(small, big)


def test_causal_lm_token_weights_accumulation_equals_big_batch(tmp_path):
    loss = WeightedLoss(task="causal_lm", class_weight=torch.linspace(0.5, 2.0, V))
    rows = _lm_rows()
    small = _train(_gpt2(), rows, loss, bs=2, ga=4, tmp_path=tmp_path / "a")
    big = _train(_gpt2(), rows, loss, bs=8, ga=1, tmp_path=tmp_path / "b")
    _assert_same(small, big)


def test_per_micro_batch_denominators_differ(tmp_path):
    # The same run dividing each micro-batch by its own Σω (ignoring num_items_in_batch)
    loss = WeightedLoss(task="sequence_classification", class_weight=[1.0, 4.0, 0.5])
    rows = _cls_rows()
    big = _train(_bert(), rows, loss, bs=8, ga=1, tmp_path=tmp_path / "b")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        own = _train(
            _bert(),
            rows,
            loss,
            bs=2,
            ga=4,
            tmp_path=tmp_path / "a",
            compute_loss_func=lambda o, y, num_items_in_batch=None: loss(o, y) / 4,
        )
    assert _max_diff(own, big) > 1e-4


def test_big_batch_step_equals_hand_written_loss(tmp_path):
    # One batch of 8 through Trainer equals one SGD step on the hand-written weighted CE.
    loss = WeightedLoss(task="sequence_classification", class_weight=[1.0, 4.0, 0.5])
    rows = _cls_rows()
    got = _train(_bert(), rows, loss, bs=8, ga=1, tmp_path=tmp_path)
    model = _bert()
    batch = loss.collator()(rows)  # the order does not matter for a weighted mean
    y = batch.pop("labels")
    logits = model(**batch).logits
    cw = torch.tensor([1.0, 4.0, 0.5], dtype=torch.float64)
    s = y["sample_weight"].double()
    per = torch.nn.functional.cross_entropy(logits, y["labels"], weight=cw, reduction="none")
    ((per * s).sum() / (s * cw[y["labels"]]).sum()).backward()
    with torch.no_grad():
        expected = [p - 0.5 * p.grad for p in model.parameters()]
    _assert_same(got, expected)


def test_collator_pads_token_weights_and_keeps_columns():
    loss = WeightedLoss(task="causal_lm")
    rows = [
        {"input_ids": [5, 6, 7], "token_weight": [1.0, 2.0, 3.0]},
        {"input_ids": [8, 9], "token_weight": [4.0, 5.0]},
    ]
    batch = loss.collator(pad_token_id=0)(rows)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 9, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    lab = batch["labels"]
    assert isinstance(lab, WeightedLabels)
    assert lab["labels"].tolist() == [[5, 6, 7], [8, 9, -100]]
    assert lab["token_weight"].tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]]
    # Trainer's window count over labels[..., 1:] is Σω after the shift: 2+3 + 5
    assert float(lab[..., 1:].ne(-100).sum()) == 10.0
    left = loss.collator(padding_side="left")(rows)
    assert left["labels"]["token_weight"].tolist() == [[1.0, 2.0, 3.0], [0.0, 4.0, 5.0]]


def test_collator_names_remove_unused_columns():
    loss = WeightedLoss(task="sequence_classification")
    col = loss.collator(require=["sample_weight"])
    with pytest.raises(
        ValueError, match=r"feature 0 has no 'sample_weight'.*remove_unused_columns"
    ):
        col([{"input_ids": [1, 2], "labels": 0}])


def test_loss_matches_functional_and_eval_unweighted():
    logits = torch.randn(4, 3, dtype=torch.float64)
    y = torch.tensor([0, 2, 1, 1])
    s = torch.tensor([1.0, 0.5, 2.0, 0.0], dtype=torch.float64)
    loss = WeightedLoss(
        task="sequence_classification", class_weight=[1.0, 2.0, 3.0], eval_weighted=False
    )
    labels = WeightedLabels(
        labels=y, sample_weight=s, element_weight=loss.element_weight(y, {"sample_weight": s})
    )
    cw = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    ref = cross_entropy(logits, y, sample_weight=s, class_weight=cw, reduction="weighted_mean")
    with pytest.warns(UserWarning, match="no window denominator"):
        got = loss({"logits": logits}, labels, num_items_in_batch=None)
    torch.testing.assert_close(got, ref)
    with torch.no_grad():
        ev = loss({"logits": logits}, labels, num_items_in_batch=None)
    torch.testing.assert_close(ev, torch.nn.functional.cross_entropy(logits, y))
    lm = WeightedLoss(task="causal_lm", z_loss=1e-3)
    x = torch.randn(2, 4, 5, dtype=torch.float64)
    ids = torch.randint(0, 5, (2, 4))
    with pytest.warns(UserWarning, match="no window denominator"):
        got = lm({"logits": x}, ids)
    torch.testing.assert_close(got, causal_lm_loss(x, ids, z_loss=1e-3))


def test_errors():
    with pytest.raises(ValueError, match="task must be one of"):
        WeightedLoss(task="token_classification")
    with pytest.raises(ValueError, match="reduction must be one of"):
        WeightedLoss(reduction="none")
    with pytest.raises(ValueError, match="z_loss is for task='causal_lm' only"):
        WeightedLoss(z_loss=1e-4)


def test_import_weightwise_does_not_import_transformers():
    code = "import sys, weightwise, weightwise.losses; print('transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_docstring_examples():
    import doctest

    import weightwise.integrations.transformers as mod

    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_class_weight_dict_must_cover_every_class_and_is_parsed_once() -> None:
    loss = WeightedLoss(task="sequence_classification", class_weight={0: 1.0, 1: 4.0})
    assert loss.class_weight is not None and loss.class_weight.tolist() == [1.0, 4.0]
    with pytest.raises(ValueError, match="class_weight has no entry for class 1"):
        WeightedLoss(task="sequence_classification", class_weight={0: 1.0, 2: 4.0})
    with pytest.raises(ValueError, match="class_weight must be finite and non-negative"):
        WeightedLoss(task="sequence_classification", class_weight=[1.0, -2.0])


def test_evaluation_unpads_trainer_padding_only() -> None:
    from weightwise.integrations.transformers import _unpad

    w = torch.tensor([[1.0, 0.5, -100.0], [2.0, -1.0, -100.0]], dtype=torch.float64)
    # Trainer's -100 padding weighs 0; a real negative weight is kept for the loss to refuse.
    assert _unpad(w).tolist() == [[1.0, 0.5, 0.0], [2.0, -1.0, 0.0]]
