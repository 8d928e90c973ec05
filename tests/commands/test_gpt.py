"""The gpt command end to end: train, resume, sample, and its errors."""

import numpy as np
import pytest

from gpt_from_scratch.checkpoint import CheckpointError
from gpt_from_scratch.commands.gpt import load_model, main, resume, save_best
from gpt_from_scratch.gpt import (
    TrainConfig,
    fit,
    make_optimizer,
)

TEXT = "To be, or not to be, that is the question.\n" * 4


def train_into(out, model, vocab, data, config):
    optimizer = make_optimizer(model, config)
    callbacks = [save_best(out, model, optimizer, vocab, config)]
    return fit(model, data, data, config, optimizer=optimizer, callbacks=callbacks)


def test_checkpoint_of_another_configuration_is_a_clear_error(tmp_path, tiny_gpt):
    model, vocab, data = tiny_gpt()
    config = TrainConfig(max_iters=2, batch_size=2, eval_interval=2, eval_iters=1)
    train_into(tmp_path, model, vocab, data, config)
    other, _, _ = tiny_gpt(block_size=4)
    with pytest.raises(CheckpointError, match="block_size: checkpoint 8, asked 4"):
        resume(tmp_path, other, make_optimizer(other, config), vocab)
    loaded, loaded_vocab, meta = load_model(tmp_path)
    assert loaded_vocab == vocab and meta["step"] == 2
    for (name, a), (_, b) in zip(model.named_parameters(), loaded.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


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
def test_command_line_errors(tmp_path, capsys, argv, message, tiny_gpt):
    (tmp_path / "binary.bin").write_bytes(b"\xff\xfe\x00")
    model, vocab, data = tiny_gpt()
    config = TrainConfig(max_iters=1, batch_size=2, eval_interval=1, eval_iters=1)
    (tmp_path / "run").mkdir()
    train_into(tmp_path / "run", model, vocab, data, config)
    with pytest.raises(SystemExit) as exit_info:
        main([a.replace("{tmp}", str(tmp_path)) for a in argv])
    assert exit_info.value.code == 1
    assert __import__("re").search(message, capsys.readouterr().err)
