"""Data pipeline, training, checkpoints and resuming, and the command line end to end."""

import json

import numpy as np
import pytest

from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.gpt import (
    GPT,
    CharVocab,
    GPTConfig,
    TrainConfig,
    encode_text,
    get_batch,
    load_model,
    sample_text,
    train,
    train_step,
    train_val_split,
)
from gpt_from_scratch.gpt.__main__ import main
from gpt_from_scratch.tensor import manual_seed

TEXT = "To be, or not to be, that is the question.\n" * 4


def test_vocab_round_trip_and_json():
    vocab = CharVocab.from_text(TEXT)
    assert vocab.itos == sorted(set(TEXT)) and vocab.decode(vocab.encode(TEXT)) == TEXT
    assert CharVocab.from_json(json.loads(json.dumps(vocab.to_json()))) == vocab
    with pytest.raises(ValueError, match="empty text"):
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


def tiny_setup(block_size=8, seed=0):
    vocab = CharVocab.from_text(TEXT)
    data = encode_text(TEXT, vocab)
    manual_seed(seed)
    config = GPTConfig(vocab_size=vocab.size, block_size=block_size, n_layer=1, n_head=2, n_embd=32)
    return GPT(config), vocab, data


def test_tiny_model_memorises_a_short_text():
    model, vocab, data = tiny_setup(block_size=16)
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
    history = train(model, data, data, config)
    assert history.evals[-1][2] < 0.3 < np.log(vocab.size)
    assert sample_text(model, vocab, "To be, or", 33, top_k=1) == TEXT[:42]


def test_train_step_returns_the_loss_before_its_update_and_clips_the_gradients():
    model, _, data = tiny_setup()
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


def test_resume_continues_exactly(tmp_path):
    config = TrainConfig(
        max_iters=12, batch_size=4, warmup_iters=2, eval_interval=6, eval_iters=2, lr_decay_iters=12
    )
    straight, vocab, data = tiny_setup()
    train(straight, data, data, config)
    interrupted, _, _ = tiny_setup()
    first = TrainConfig(**{**config.__dict__, "max_iters": 6})
    train(interrupted, data, data, first, out_dir=tmp_path, vocab=vocab)
    resumed, _, _ = tiny_setup(seed=99)  # different initial weights: all must come from disk
    history = train(resumed, data, data, config, out_dir=tmp_path, vocab=vocab, resume=True)
    assert len(history.loss) == 12
    for (name, a), (_, b) in zip(
        straight.named_parameters(), resumed.named_parameters(), strict=True
    ):
        np.testing.assert_allclose(a.data, b.data, atol=1e-6, err_msg=name)


def test_checkpoint_of_another_configuration_is_a_clear_error(tmp_path):
    model, vocab, data = tiny_setup()
    config = TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1)
    train(model, data, data, config, out_dir=tmp_path, vocab=vocab)
    other, _, _ = tiny_setup(block_size=4)
    with pytest.raises(CheckpointError, match="block_size: checkpoint 8, asked 4"):
        train(other, data, data, config, out_dir=tmp_path, vocab=vocab, resume=True)
    loaded, loaded_vocab, meta = load_model(tmp_path)
    assert loaded_vocab == vocab and meta["step"] == 2


def test_command_line_train_then_sample(tmp_path, capsys):
    text_file = tmp_path / "input.txt"
    text_file.write_text(TEXT * 3, encoding="utf-8")
    out = tmp_path / "run"
    common = [
        "--input",
        str(text_file),
        "--out",
        str(out),
        "--n-layer",
        "1",
        "--n-embd",
        "16",
        "--n-head",
        "2",
        "--block-size",
        "8",
        "--batch-size",
        "4",
        "--eval-iters",
        "2",
        "--quiet",
    ]
    main(["train", *common, "--max-iters", "6", "--eval-interval", "3"])
    main(["train", *common, "--max-iters", "9", "--eval-interval", "3", "--resume"])
    assert "step      9" in capsys.readouterr().out
    main(
        [
            "sample",
            "--out",
            str(out),
            "--prompt",
            "To be",
            "--length",
            "20",
            "--seed",
            "1",
            "--top-k",
            "5",
            "--temperature",
            "0.8",
        ]
    )
    sample = capsys.readouterr().out
    assert sample.startswith("To be") and len(sample.rstrip("\n")) >= 25


@pytest.mark.parametrize(
    "argv, message",
    [
        (["sample", "--out", "{tmp}/nothing"], "no checkpoint here"),
        (["train", "--input", "{tmp}/missing.txt", "--out", "{tmp}/r"], "no such file"),
        (["train", "--input", "{tmp}/binary.bin", "--out", "{tmp}/r"], "not UTF-8"),
        (["sample", "--out", "{tmp}/run", "--prompt", "To be?"], "'\\?' .*position 5"),
    ],
)
def test_command_line_errors(tmp_path, capsys, argv, message):
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00")
    model, vocab, data = tiny_setup()
    train(
        model,
        data,
        data,
        TrainConfig(max_iters=1, batch_size=2, eval_interval=1, eval_iters=1),
        out_dir=tmp_path / "run",
        vocab=vocab,
    )
    with pytest.raises(SystemExit) as exit_info:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert exit_info.value.code == 1
    assert __import__("re").search(message, capsys.readouterr().err)
