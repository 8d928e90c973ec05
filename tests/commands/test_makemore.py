"""The makemore command end to end: train, resume, sample, and refuse bad input cleanly."""

import json

import numpy as np
import pytest

from gpt_from_scratch import checkpoint
from gpt_from_scratch.checkpoint import load_checkpoint, restore_training, save_training
from gpt_from_scratch.commands.makemore import (
    Run,
    main,
    make_optimizer,
    restore_model,
    segment_batches,
)
from gpt_from_scratch.commands.models import MODEL_TYPES, Training, build_model
from gpt_from_scratch.makemore.data import Vocabulary
from gpt_from_scratch.runs import RunFolder
from gpt_from_scratch.tensor import Tensor, manual_seed

NAMES = """emma olivia ava isabella sophia charlotte mia amelia harper evelyn abigail emily
elizabeth mila ella avery sofia camila aria scarlett victoria madison luna grace chloe penelope
layla riley zoey nora lily eleanor hannah lillian addison aubrey ellie stella natalie zoe leah
hazel violet aurora savannah audrey brooklyn bella claire skylar lucy paisley everly anna""".split()
TINY = ["--n-embd", "4", "--n-hidden", "8", "--batch-size", "8", "--quiet", "--num-samples", "5"]


@pytest.fixture
def names_file(tmp_path):
    path = tmp_path / "names.txt"
    path.write_text("\n".join(NAMES) + "\n", encoding="utf-8")
    return path


def run(*args):
    return main([str(a) for a in args])


def snapshot(folder):
    """Every file under ``folder`` with its bytes: to check that nothing changed on disk."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def train_tiny(names_file, out, steps=20, *extra):
    return run("-i", names_file, "-o", out, "--steps", steps, "--eval-every", 10, *TINY, *extra)


def test_trains_end_to_end_and_prints_words_of_the_vocabulary(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert train_tiny(names_file, out) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log[:-1]] == [10, 20]
    assert log[-1]["final"] and np.isfinite(log[-1]["dev_loss"])
    assert np.isfinite(log[-1]["test_loss"])  # measured once, for the best weights
    _, meta = RunFolder(out).load("best", expected_type="wavenet")
    assert meta["config"] == {"block_size": 8, "n_embd": 4, "n_hidden": 8}
    assert meta["dev_loss"] == min(r["dev_loss"] for r in log[:-1])
    words = capsys.readouterr().out.splitlines()
    vocab = set("".join(NAMES))
    assert len(words) == 5 and all(set(w) <= vocab for w in words)


def test_sample_only_prints_words_made_of_the_vocabulary(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    train_tiny(names_file, out)
    capsys.readouterr()
    assert run("-o", out, "--sample-only", "--num-samples", 30, "--seed", 3) == 0
    words = capsys.readouterr().out.splitlines()
    assert len(words) == 30 and all(set(w) <= set("".join(NAMES)) for w in words)
    run("-o", out, "--sample-only", "--num-samples", 30, "--seed", 3)
    assert capsys.readouterr().out.splitlines() == words  # the seed fixes the words


def test_resuming_continues_exactly_as_one_uninterrupted_run(names_file, tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert train_tiny(names_file, straight, 30, "--optimizer", "adamw", "--lr", "0.01") == 0
    assert train_tiny(names_file, resumed, 10, "--optimizer", "adamw", "--lr", "0.01") == 0
    assert run("-o", resumed, "--resume", "--steps", 30, "--quiet") == 0
    a, meta_a = RunFolder(straight).load("last")
    b, meta_b = RunFolder(resumed).load("last")
    assert meta_b["step"] == 30 and a.keys() == b.keys() == {"model", "optimizer"}
    for stem in a:
        assert a[stem].keys() == b[stem].keys(), stem
        for name in a[stem]:
            assert a[stem][name].tobytes() == b[stem][name].tobytes(), f"{stem}/{name}"
    assert meta_a["optimizer"] == meta_b["optimizer"]
    log_a = (straight / "log.jsonl").read_text().splitlines()
    log_b = (resumed / "log.jsonl").read_text().splitlines()
    dev = [[json.loads(r)["dev_loss"] for r in log] for log in (log_a, log_b)]
    assert dev[0] == dev[1]


def test_a_checkpoint_round_trips_bit_for_bit(names_file, tmp_path):
    out = tmp_path / "run"
    train_tiny(names_file, out, 10, "--optimizer", "adamw")
    run = RunFolder(out)
    model, vocab, arrays, meta = restore_model(run, "last", "wavenet")
    assert vocab == Vocabulary.from_words(NAMES)
    assert model.state_dict().keys() == arrays["model"].keys()
    for name, array in model.state_dict().items():
        assert array.dtype == arrays["model"][name].dtype, name
        assert array.tobytes() == arrays["model"][name].tobytes(), name
    opt = make_optimizer(model, Training(optimizer="adamw", lr=0.01))
    restore_training(run.folder("last"), arrays, meta, model, opt)
    saved = opt.state_dict()
    assert saved["t"] == 10
    parameters = meta["optimizer"]["parameters"]
    assert parameters == [name for name, _ in model.named_parameters()]
    assert len(saved["state"]) == len(parameters)
    for index, slots in saved["state"].items():
        assert slots.keys() == {"exp_avg", "exp_avg_sq"}
        for slot, array in slots.items():
            stored = arrays["optimizer"][f"{parameters[index]}.{slot}"]
            assert array.tobytes() == stored.tobytes(), (index, slot)


def test_an_optimizer_state_restores_into_a_fresh_model(tmp_path):
    manual_seed(0)
    model = build_model("mlp", 5, {"n_embd": 2, "n_hidden": 3})
    opt = make_optimizer(model, Training(optimizer="sgd", lr=0.1))
    opt.param_groups[0]["momentum"] = 0.9
    model(np.zeros((4, 3), dtype=np.int64), np.arange(4))[1].backward()
    opt.step()
    save_training(tmp_path / "ckpt", {"type": "mlp"}, model, opt)
    state, meta = load_checkpoint(tmp_path / "ckpt", expected_type="mlp")
    fresh_model = build_model("mlp", 5, {"n_embd": 2, "n_hidden": 3})
    fresh = make_optimizer(fresh_model, Training(optimizer="sgd", lr=0.1))
    restore_training(tmp_path / "ckpt", state, meta, fresh_model, fresh)
    assert fresh.param_groups[0]["momentum"] == 0.9
    restored, saved = fresh.state_dict()["state"], opt.state_dict()["state"]
    assert restored.keys() == saved.keys()
    for index in saved:
        np.testing.assert_array_equal(
            restored[index]["momentum_buffer"], saved[index]["momentum_buffer"]
        )


@pytest.mark.parametrize("damage", ["truncate", "flip"])
def test_a_damaged_checkpoint_is_refused_and_nothing_changes(names_file, tmp_path, capsys, damage):
    out = tmp_path / "run"
    train_tiny(names_file, out)
    arrays = RunFolder(out).folder("last") / "model.safetensors"
    data = arrays.read_bytes()
    if damage == "truncate":
        arrays.write_bytes(data[: len(data) // 2])
    else:
        arrays.write_bytes(data[:100] + bytes([data[100] ^ 0xFF]) + data[101:])
    before = snapshot(out)
    capsys.readouterr()
    assert run("-o", out, "--resume", "--steps", 40, "--quiet") == 1
    assert run("-o", out, "--sample-only") == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(str(arrays) in line for line in err)
    assert all("truncated, corrupt or from another run" in line for line in err)
    assert snapshot(out) == before


def test_a_checkpoint_of_another_type_is_refused(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    train_tiny(names_file, out)
    before = snapshot(out)
    capsys.readouterr()
    assert run("-o", out, "--resume", "--type", "mlp", "--steps", 40) == 1
    assert "holds a 'wavenet' model, not a 'mlp' model" in capsys.readouterr().err
    assert run("-o", out, "--sample-only", "--type", "bigram") == 1
    assert "holds a 'wavenet' model, not a 'bigram' model" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("text", ["", "\n  \n\n", "a.b\n"])
def test_an_input_without_usable_lines_is_refused(tmp_path, capsys, text):
    path = tmp_path / "words.txt"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    assert run("-i", path, "-o", out, "--steps", 5, "--quiet") == 1
    err = capsys.readouterr().err
    assert str(path) in err and ("no words" in err or "boundary" in err)
    assert not out.exists()


def test_too_few_words_for_a_dev_split_is_refused(tmp_path, capsys):
    path = tmp_path / "words.txt"
    path.write_text("ab\ncd\nef\n", encoding="utf-8")
    assert run("-i", path, "-o", tmp_path / "run", "--quiet") in (1, 2)
    assert "too few" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_new_run_never_overwrites_an_old_one(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    train_tiny(names_file, out)
    before = snapshot(out)
    capsys.readouterr()
    assert train_tiny(names_file, out) == 2
    assert "already holds a run: pass --resume" in capsys.readouterr().err
    assert snapshot(out) == before


def test_resume_refuses_a_changed_input_or_model_size(names_file, tmp_path, capsys):
    out = tmp_path / "run"
    train_tiny(names_file, out)
    before = snapshot(out)
    other = tmp_path / "other.txt"
    other.write_text("\n".join(reversed(NAMES)), encoding="utf-8")
    capsys.readouterr()
    assert run("-i", other, "-o", out, "--resume", "--steps", 40) == 2
    assert "not the file this run trained on" in capsys.readouterr().err
    assert run("-o", out, "--resume", "--n-hidden", 16) == 2
    assert "cannot change" in capsys.readouterr().err
    assert snapshot(out) == before


@pytest.mark.parametrize("model_type", ["bigram", "mlp"])
def test_other_model_types_train_too(names_file, tmp_path, model_type):
    sizes = [] if model_type == "bigram" else ["--n-embd", "3", "--n-hidden", "8"]
    out = tmp_path / model_type
    args = ["-i", names_file, "-o", out, "--type", model_type, "--steps", 10, "--quiet"]
    assert run(*args, *sizes) == 0
    assert RunFolder(out).load("best", expected_type=model_type)[1]["step"] == 10


def test_a_setting_the_model_does_not_take_is_an_error(names_file, tmp_path, capsys):
    assert run("-i", names_file, "-o", tmp_path / "r", "--type", "bigram", "--n-hidden", 4) in (
        1,
        2,
    )
    assert "has no setting ['n_hidden']" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "argv, code",
    [
        ("-i {few} -o {tmp}/new", 1),
        ("-i {empty} -o {tmp}/new", 1),
        ("-i {tmp}/nope.txt -o {tmp}/new", 1),
        ("-i {names} -o {tmp}/new --type bigram --n-hidden 4", 2),
        ("-i {names} -o {run}", 2),
        ("-o {tmp}/nowhere --resume", 2),
        ("-o {run} --resume --n-hidden 16", 2),
        ("-o {run} --resume -i {few}", 2),
        ("-o {run} --resume --type mlp", 1),
        ("-o {run} --sample-only --type mlp", 1),
    ],
)
def test_the_exit_status_says_usage_or_failure(names_file, tmp_path, argv, code):
    """cli's rule: a flag or folder the command cannot honour exits 2; a bad file or
    checkpoint exits 1."""
    (tmp_path / "few.txt").write_text("ab\ncd\nef\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    if "{run}" in argv:
        assert train_tiny(names_file, tmp_path / "run", 10) == 0
    where = {"tmp": tmp_path, "names": names_file, "run": tmp_path / "run"}
    where |= {"few": tmp_path / "few.txt", "empty": tmp_path / "empty.txt"}
    assert run(*TINY, *argv.format(**where).split()) == code  # the last of a flag counts
    assert not (tmp_path / "new").exists() and not (tmp_path / "nowhere").exists()


def test_a_resumed_run_draws_the_batches_of_the_uninterrupted_one():
    X, Y = np.arange(200).reshape(100, 2), np.arange(100)
    straight = segment_batches(X, Y, 4, seed=0, every=10)
    first = [straight(step)[1] for step in range(25)]
    resumed = segment_batches(X, Y, 4, seed=0, every=10)
    again = [resumed(step)[1] for step in range(10, 25)]
    for a, b in zip(first[10:], again, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[10])  # each segment has a generator of its own


def test_every_registered_type_has_a_usable_default_training():
    for name, entry in MODEL_TYPES.items():
        assert isinstance(entry.training, Training), name
        assert entry.training.steps > 0 and entry.training.lr > 0, name


def test_run_meta_is_json(names_file, tmp_path):
    out = tmp_path / "run"
    train_tiny(names_file, out, 10)
    meta = json.loads((RunFolder(out).folder("last") / "meta.json").read_text())
    assert meta["type"] == "wavenet" and meta["training"]["steps"] == 10
    assert meta["vocab"]["itos"][0] == "."
    assert set(Run.__dataclass_fields__) >= {"model", "optimizer", "splits"}


def test_the_model_restored_from_best_predicts_like_the_trained_one(names_file, tmp_path):
    out = tmp_path / "run"
    train_tiny(names_file, out, 10)
    model, *_ = restore_model(RunFolder(out), "best", "wavenet")
    again, *_ = restore_model(RunFolder(out), "best", None)
    model.eval(), again.eval()
    x = np.zeros((3, 8), dtype=np.int64)
    assert isinstance(model(x)[0], Tensor)
    np.testing.assert_array_equal(model(x)[0].data, again(x)[0].data)


def test_a_missing_input_file_is_named(tmp_path, capsys):
    assert run("-i", tmp_path / "nope.txt", "-o", tmp_path / "run", "--quiet") == 1
    assert "nope.txt: no such file (nor a data set name: names" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_run_killed_while_saving_leaves_the_previous_checkpoint(
    names_file, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    train_tiny(names_file, out, 10)
    before = snapshot(out)

    real_write = checkpoint.write_synced

    def killed_halfway(path, content):
        if path.name == "optimizer.safetensors":  # after model.safetensors, before meta.json
            path.write_bytes(content[: len(content) // 2])
            raise KeyboardInterrupt
        real_write(path, content)

    monkeypatch.setattr(checkpoint, "write_synced", killed_halfway)
    assert run("-o", out, "--resume", "--steps", 20, "--quiet") == 130
    assert "the run is saved at step 10" in capsys.readouterr().err
    monkeypatch.undo()
    assert snapshot(out) == before  # no half-written file, not even a temporary one
    assert RunFolder(out).load("last")[1]["step"] == 10
    assert run("-o", out, "--resume", "--steps", 20, "--quiet") == 0
    assert RunFolder(out).load("last")[1]["step"] == 20


def test_help_lists_every_model_type(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert all(name in out for name in MODEL_TYPES)


SMALL = ["--block-size", 4, "--n-embd", 4, "--n-embd2", 8, "--batch-size", 8, "--quiet"]


@pytest.mark.parametrize("model_type", ["rnn", "gru", "bow"])
def test_recurrent_and_bag_of_words_types_train_resume_and_sample(
    names_file, tmp_path, capsys, model_type
):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    given = ["-i", names_file, "--type", model_type, "--eval-every", 5, *SMALL]
    assert run(*given, "-o", straight, "--steps", 10, "--num-samples", 2) == 0
    assert run(*given, "-o", resumed, "--steps", 5, "--num-samples", 2) == 0
    assert run("-o", resumed, "--resume", "--steps", 10, "--quiet", "--num-samples", 2) == 0
    a, meta = RunFolder(straight).load("last", expected_type=model_type)
    b, _ = RunFolder(resumed).load("last", expected_type=model_type)
    assert meta["config"] == {"block_size": 4, "n_embd": 4, "n_embd2": 8}
    assert (meta["training"]["optimizer"], meta["training"]["lr"]) == ("adamw", 5e-4)
    for name in a["model"]:
        assert a["model"][name].tobytes() == b["model"][name].tobytes(), name
    capsys.readouterr()
    assert run("-o", resumed, "--sample-only", "--num-samples", 7, "--seed", 1) == 0
    words = capsys.readouterr().out.splitlines()
    assert len(words) == 7 and all(set(w) <= set("".join(NAMES)) for w in words)


def test_the_new_types_train_with_makemores_recipe(names_file, tmp_path, capsys):
    for name in ("rnn", "gru", "bow"):
        t = MODEL_TYPES[name].training
        recipe = (t.optimizer, t.lr, t.schedule, t.weight_decay, t.batch_size)
        assert recipe == ("adamw", 5e-4, "constant", 0.01, 32), name
    assert run("-i", names_file, "-o", tmp_path / "r", "--type", "mlp", "--n-embd2", 4) == 2
    assert "has no setting ['n_embd2']" in capsys.readouterr().err
