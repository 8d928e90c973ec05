"""The GPT's data pipeline and its training recipe on the book's one loop, resumed exactly."""

import json

import numpy as np
import pytest

from gpt_from_scratch.checkpoint import load_checkpoint, restore_training, save_training
from gpt_from_scratch.gpt import (
    CharVocab,
    TrainConfig,
    estimate_loss,
    fit,
    get_batch,
    make_optimizer,
    sample_text,
    train_val_split,
)
from gpt_from_scratch.makemore.train import History, train_step

TEXT = "To be, or not to be, that is the question.\n" * 4


def test_vocab_round_trip_and_json():
    vocab = CharVocab.from_text(TEXT)
    assert vocab.itos == sorted(set(TEXT)) and vocab.decode(vocab.encode(TEXT)) == TEXT
    assert CharVocab.from_json(json.loads(json.dumps(vocab.to_json()))) == vocab
    with pytest.raises(ValueError, match="an empty text has none"):
        CharVocab.from_text("")


def test_split_and_batches():
    ids = np.arange(1000)
    train_ids, val_ids = train_val_split(ids)
    assert len(train_ids) == 900 and val_ids[0] == 900
    x, y = get_batch(train_ids, 16, 5, np.random.default_rng(0))
    assert x.shape == y.shape == (5, 16)
    np.testing.assert_array_equal(y, x + 1)  # the targets are the inputs shifted by one
    assert x.max() < 900
    with pytest.raises(ValueError, match="too few for a context of block_size=16"):
        get_batch(np.arange(16), 16, 2, np.random.default_rng(0))


def test_tiny_model_memorises_a_short_text(tiny_gpt):
    model, vocab, data = tiny_gpt(block_size=16)
    config = TrainConfig(
        max_iters=150,
        batch_size=16,
        lr=2e-2,
        min_lr=1e-3,
        warmup_iters=10,
        weight_decay=0.0,
        eval_interval=150,
        eval_iters=4,
    )
    history = fit(model, data, data, config)
    assert history.evals["val"][-1] == (150, history.best("val"))
    assert history.best("val") < 0.3 < np.log(vocab.size)
    assert sample_text(model, vocab, "To be, or", 33, top_k=1) == TEXT[:42]


def test_train_step_returns_the_loss_before_its_update_and_clips_the_gradients(tiny_gpt):
    model, _, data = tiny_gpt()
    x, y = get_batch(data, 8, 4, np.random.default_rng(0))
    optimizer = model.configure_optimizer(lr=1e-2, weight_decay=0.0)
    before = {name: p.data.copy() for name, p in model.named_parameters()}
    _, loss = model(x, y)
    clip = 1e-3  # far below the gradients' norm at initialisation
    assert train_step(model, optimizer, x, y, grad_clip=clip) == pytest.approx(loss.item())
    norm = np.sqrt(sum(float(np.vdot(p.grad, p.grad)) for p in model.parameters()))
    assert norm == pytest.approx(clip, rel=1e-3)
    assert any(not np.array_equal(p.data, before[name]) for name, p in model.named_parameters())
    losses = [train_step(model, optimizer, x, y, grad_clip=1.0) for _ in range(20)]
    assert losses[-1] < loss.item() - 0.5  # the same batch, fitted


def test_resume_from_a_checkpoint_continues_exactly(tmp_path, tiny_gpt):
    config = TrainConfig(
        max_iters=12, batch_size=4, warmup_iters=2, eval_interval=6, eval_iters=2, lr_decay_iters=12
    )
    straight, vocab, data = tiny_gpt()
    fit(straight, data, data, config)

    interrupted, _, _ = tiny_gpt()
    optimizer = make_optimizer(interrupted, config)
    history = fit(
        interrupted,
        data,
        data,
        TrainConfig(**{**config.__dict__, "max_iters": 6}),
        optimizer=optimizer,
    )
    folder = tmp_path / "step-6"
    save_training(folder, {"history": history.to_json()}, interrupted, optimizer)

    resumed, _, _ = tiny_gpt(seed=99)  # different initial weights: all must come from disk
    optimizer = make_optimizer(resumed, config)
    arrays, meta = load_checkpoint(folder)
    assert arrays.keys() == {"model", "optimizer"}
    restore_training(folder, arrays, meta, resumed, optimizer)
    history = fit(
        resumed,
        data,
        data,
        config,
        optimizer=optimizer,
        start=6,
        history=History.from_json(meta["history"]),
    )
    assert len(history.loss) == 12 and [s for s, _ in history.evals["val"]] == [6, 12]
    for (name, a), (_, b) in zip(
        straight.named_parameters(), resumed.named_parameters(), strict=True
    ):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_estimate_loss_is_the_mean_over_its_batches(tiny_gpt):
    model, _, data = tiny_gpt()
    rng = np.random.default_rng(3)
    losses = [model(*get_batch(data, 8, 4, rng))[1].item() for _ in range(5)]
    assert estimate_loss(model, data, 4, 5, seed=3) == pytest.approx(np.mean(losses), rel=1e-6)
