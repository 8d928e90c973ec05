"""Checkpoint folders: safetensors arrays plus meta.json, written whole or not at all, and
refused on load, naming the file, whenever a byte of them is not what was saved."""

import hashlib
import io
import json

import numpy as np
import pytest

from gpt_from_scratch import checkpoint
from gpt_from_scratch.checkpoint import (
    FORMAT_VERSION,
    META,
    CheckpointError,
    load_checkpoint,
    restore_training,
    save_checkpoint,
    save_training,
)
from gpt_from_scratch.tensor import Tensor, manual_seed, nn, optim


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return {
        "model": {
            "w": rng.standard_normal((4, 3)).astype(np.float32),
            "b": rng.standard_normal(3),  # float64
            "steps": np.array([7, -(2**40)], dtype=np.int64),
            "scale": np.array(0.5, dtype=np.float32),  # 0-d
        },
        "optimizer": {"w.exp_avg": rng.standard_normal((4, 3)).astype(np.float32)},
    }


def contents(folder):
    """Every file under ``folder`` with its bytes."""
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def rewrite_meta(folder, change):
    meta = json.loads((folder / META).read_text())
    change(meta)
    (folder / META).write_text(json.dumps(meta))


def assert_same(loaded, saved):
    assert loaded.keys() == saved.keys()
    for stem, named in saved.items():
        assert loaded[stem].keys() == named.keys(), stem
        for name, value in named.items():
            got = loaded[stem][name]
            assert (got.dtype, got.shape) == (value.dtype, value.shape), f"{stem}/{name}"
            assert got.tobytes() == value.tobytes(), f"{stem}/{name}"


# -- round trips ----------------------------------------------------------------------------------


def test_round_trip_is_bit_exact(tmp_path, arrays):
    folder = tmp_path / "ckpt"
    meta_bytes = save_checkpoint(folder, arrays, {"type": "mlp", "config": {"n": 3}, "step": 4})
    assert sorted(p.name for p in folder.iterdir()) == [
        META,
        "model.safetensors",
        "optimizer.safetensors",
    ]
    assert (folder / META).read_bytes() == meta_bytes
    loaded, meta = load_checkpoint(folder, expected_type="mlp")
    assert_same(loaded, arrays)
    assert meta["config"] == {"n": 3} and meta["step"] == 4
    assert meta["format_version"] == FORMAT_VERSION
    for name, sha256 in meta["files"].items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == sha256


def test_meta_hash_is_checked_when_given(tmp_path, arrays):
    folder = tmp_path / "ckpt"
    meta_bytes = save_checkpoint(folder, arrays, {"type": "mlp"})
    load_checkpoint(folder, meta_sha256=hashlib.sha256(meta_bytes).hexdigest())
    with pytest.raises(CheckpointError, match="do not match the run's pointer file"):
        load_checkpoint(folder, meta_sha256="0" * 64)


@pytest.mark.parametrize(
    "view",
    [
        lambda a: a[:, ::2],
        lambda a: a.T,
        lambda a: a[::-1],
        lambda a: np.broadcast_to(a[:1], (5, 6)),
    ],
    ids=["strided", "transposed", "reversed", "broadcast"],
)
def test_non_contiguous_arrays_round_trip(tmp_path, view):
    array = view(np.arange(30, dtype=np.float64).reshape(5, 6))
    assert not array.flags.c_contiguous
    save_checkpoint(tmp_path / "ckpt", {"model": {"v": array}}, {"type": "mlp"})
    loaded = load_checkpoint(tmp_path / "ckpt")[0]["model"]["v"]
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == array.dtype


def test_other_model_type_is_refused(tmp_path, arrays):
    save_checkpoint(tmp_path / "ckpt", arrays, {"type": "wavenet"})
    with pytest.raises(CheckpointError, match="'wavenet' model, not a 'mlp'"):
        load_checkpoint(tmp_path / "ckpt", expected_type="mlp")


# -- damage ---------------------------------------------------------------------------------------


def truncate(data):
    return data[: len(data) // 2]


def flip_last_byte(data):
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def flip_header_byte(data):
    return data[:10] + bytes([data[10] ^ 0xFF]) + data[11:]


@pytest.mark.parametrize("damage", [truncate, flip_last_byte, flip_header_byte, lambda d: b""])
@pytest.mark.parametrize("name", ["model.safetensors", "optimizer.safetensors"])
def test_a_damaged_array_file_is_detected_and_named(tmp_path, arrays, damage, name):
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp"})
    (folder / name).write_bytes(damage((folder / name).read_bytes()))
    with pytest.raises(CheckpointError, match="truncated, corrupt") as error:
        load_checkpoint(folder)
    assert str(folder / name) in str(error.value)


def test_a_missing_array_file_is_named(tmp_path, arrays):
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp"})
    (folder / "optimizer.safetensors").unlink()
    with pytest.raises(CheckpointError, match="optimizer.safetensors: an array file is missing"):
        load_checkpoint(folder)


def test_a_file_that_is_not_safetensors_is_refused(tmp_path, arrays):
    """An npz renamed to model.safetensors, even with its hash recorded in meta.json."""
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp"})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays["model"])
    (folder / "model.safetensors").write_bytes(buffer.getvalue())
    sha256 = hashlib.sha256(buffer.getvalue()).hexdigest()
    rewrite_meta(folder, lambda meta: meta["files"].update({"model.safetensors": sha256}))
    with pytest.raises(CheckpointError, match="model.safetensors: not a safetensors file"):
        load_checkpoint(folder)


def set_version(version):
    return lambda meta: meta.update(format_version=version)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda f: (f / META).write_text("{not json"), "not valid JSON"),
        (lambda f: (f / META).write_bytes(b"\xff\xfe{}"), "not valid JSON"),
        (lambda f: (f / META).write_text("[1, 2]"), "expected a JSON object"),
        (lambda f: (f / META).write_text(""), "not valid JSON"),
        (lambda f: (f / META).unlink(), "no checkpoint here .meta.json is missing"),
        (lambda f: rewrite_meta(f, set_version(99)), "unknown checkpoint format version 99"),
        (lambda f: rewrite_meta(f, set_version(1)), "unknown checkpoint format version 1 "),
        (lambda f: rewrite_meta(f, lambda m: m.pop("format_version")), "version None"),
        (lambda f: rewrite_meta(f, lambda m: m.pop("files")), "'files' must map"),
        (lambda f: rewrite_meta(f, lambda m: m.update(files=["x"])), "'files' must map"),
        (lambda f: rewrite_meta(f, lambda m: m.update(files={"a": 1})), "'files' must map"),
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-an-object",
        "empty",
        "missing",
        "future-version",
        "npz-version",
        "no-version",
        "no-files",
        "files-a-list",
        "hash-not-a-string",
    ],
)
def test_damaged_meta_is_refused(tmp_path, arrays, damage, message):
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp"})
    damage(folder)
    with pytest.raises(CheckpointError, match=message):
        load_checkpoint(folder)


def test_meta_that_is_a_folder_is_refused(tmp_path, arrays):
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp"})
    (folder / META).unlink()
    (folder / META).mkdir()
    with pytest.raises(CheckpointError, match="is a directory, not the metadata"):
        load_checkpoint(folder)


@pytest.mark.parametrize("where", ["nowhere", "a-file"])
def test_no_checkpoint_here(tmp_path, where):
    (tmp_path / "a-file").write_text("hello")
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        load_checkpoint(tmp_path / where)


# -- writing --------------------------------------------------------------------------------------


def test_an_existing_folder_is_refused_and_left_untouched(tmp_path, arrays):
    folder = tmp_path / "ckpt"
    save_checkpoint(folder, arrays, {"type": "mlp", "step": 1})
    before = contents(tmp_path)
    with pytest.raises(FileExistsError, match="never overwritten"):
        save_checkpoint(folder, arrays, {"type": "mlp", "step": 2})
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileExistsError):
        save_checkpoint(tmp_path / "empty", arrays, {"type": "mlp"})
    assert contents(tmp_path) == before
    assert load_checkpoint(folder)[1]["step"] == 1
    assert list((tmp_path / "empty").iterdir()) == []


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ({"meta": {"step": object()}}, TypeError, "not JSON-serialisable"),
        ({"meta": {"loss": np.float32(1.5)}}, TypeError, "not JSON-serialisable"),
        ({"meta": {"steps": {(1, 2): "a tuple key"}}}, TypeError, "not JSON-serialisable"),
        ({"array": np.array([1, "a"], dtype=object)}, TypeError, "model/bad must be a numeric"),
        ({"array": [1.0, 2.0]}, TypeError, "model/bad must be a numeric numpy array, got list"),
    ],
    ids=["object-in-meta", "numpy-scalar-in-meta", "tuple-key", "object-array", "list"],
)
def test_a_refused_save_leaves_nothing(tmp_path, arrays, bad, error, message):
    meta = {"type": "mlp", **bad.get("meta", {})}
    if "array" in bad:
        arrays["model"]["bad"] = bad["array"]
    with pytest.raises(error, match=message):
        save_checkpoint(tmp_path / "runs" / "ckpt", arrays, meta)
    assert list(tmp_path.rglob("*")) == []  # checked before anything is written


@pytest.mark.parametrize("failure", [KeyboardInterrupt, OSError])
@pytest.mark.parametrize("files_written", [0, 1, 2])
def test_a_save_that_fails_midway_leaves_no_folder_and_no_temporary_one(
    tmp_path, arrays, monkeypatch, failure, files_written
):
    """A write that fails (a full disk) or is interrupted after some files leaves nothing
    behind: the folder appears whole or not at all."""
    real_write = checkpoint.write_synced
    written = []

    def write_then_fail(path, content):
        if len(written) == files_written:
            raise failure("stop")
        real_write(path, content)
        written.append(path.name)

    monkeypatch.setattr(checkpoint, "write_synced", write_then_fail)
    (tmp_path / "other").write_text("kept")
    with pytest.raises(failure):
        save_checkpoint(tmp_path / "ckpt", arrays, {"type": "mlp"})
    assert len(written) == files_written
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other"]


@pytest.mark.parametrize("step", ["fsync_folder", "rename"])
def test_a_failed_flush_or_rename_leaves_no_folder(tmp_path, arrays, monkeypatch, step):
    def refuse(*paths):
        raise PermissionError(13, "Permission denied", str(paths[-1]))

    monkeypatch.setattr(checkpoint, step, refuse)
    with pytest.raises(PermissionError):
        save_checkpoint(tmp_path / "ckpt", arrays, {"type": "mlp"})
    assert list(tmp_path.iterdir()) == []


# -- models and optimizers ------------------------------------------------------------------------


class Tiny(nn.Module):
    def __init__(self, n_in=3, n_out=2):
        super().__init__()
        self.first = nn.Linear(n_in, 4)
        self.second = nn.Linear(4, n_out)


def trained_tiny():
    """A Tiny with AdamW after one step, so the moments are not zeros."""
    manual_seed(0)
    model = Tiny()
    optimizer = optim.AdamW(model.parameters(), lr=0.1)
    x = Tensor(np.random.default_rng(0).standard_normal((5, 3)))
    model.second(model.first(x).tanh()).sum().backward()
    optimizer.step()
    return model, optimizer


def test_model_and_optimizer_round_trip_into_fresh_ones(tmp_path):
    model, optimizer = trained_tiny()
    save_training(tmp_path / "ckpt", {"type": "tiny", "step": 1}, model, optimizer)
    arrays, meta = load_checkpoint(tmp_path / "ckpt", expected_type="tiny")
    assert arrays["model"].keys() == model.state_dict().keys()
    assert meta["optimizer"]["parameters"] == [name for name, _ in model.named_parameters()]
    manual_seed(1)
    fresh = Tiny()
    fresh_optimizer = optim.AdamW(fresh.parameters(), lr=0.5)
    restore_training(tmp_path / "ckpt", arrays, meta, fresh, fresh_optimizer)
    for name, value in model.state_dict().items():
        assert fresh.state_dict()[name].tobytes() == value.tobytes(), name
    saved, restored = optimizer.state_dict(), fresh_optimizer.state_dict()
    assert restored["param_groups"] == saved["param_groups"] and restored["t"] == saved["t"] == 1
    assert restored["state"].keys() == saved["state"].keys()
    for index, slots in saved["state"].items():
        for slot, array in slots.items():
            assert restored["state"][index][slot].tobytes() == array.tobytes(), (index, slot)


def drop_a_moment(arrays, meta):
    arrays["optimizer"].pop("second.bias.exp_avg_sq")
    arrays["optimizer"]["second.bias.exp_avg_sq"] = np.zeros(7, np.float32)


def unknown_parameter(arrays, meta):
    arrays["optimizer"]["third.weight.exp_avg"] = np.zeros(2, np.float32)


def other_groups(arrays, meta):
    meta["optimizer"]["param_groups"] = meta["optimizer"]["param_groups"] * 2


def no_settings(arrays, meta):
    meta.pop("optimizer")


@pytest.mark.parametrize(
    "damage, message",
    [
        (drop_a_moment, "has shape .7,."),
        (unknown_parameter, "third.weight"),
        (other_groups, "2 parameter groups"),
        (no_settings, "optimizer"),
    ],
)
def test_optimizer_state_that_does_not_fit_leaves_the_model_unchanged(tmp_path, damage, message):
    model, optimizer = trained_tiny()
    save_training(tmp_path / "ckpt", {"type": "tiny"}, model, optimizer)
    arrays, meta = load_checkpoint(tmp_path / "ckpt")
    damage(arrays, meta)
    manual_seed(1)
    fresh = Tiny()
    before = fresh.state_dict()
    with pytest.raises(CheckpointError, match=f"ckpt: the checkpoint does not fit.*{message}"):
        restore_training(
            tmp_path / "ckpt", arrays, meta, fresh, optim.AdamW(fresh.parameters(), lr=0.1)
        )
    after = fresh.state_dict()
    assert all(after[name].tobytes() == value.tobytes() for name, value in before.items())


def test_optimizer_state_that_does_not_fit_leaves_the_optimizer_unchanged(tmp_path):
    model, optimizer = trained_tiny()
    save_training(tmp_path / "ckpt", {"type": "tiny"}, model, optimizer)
    arrays, meta = load_checkpoint(tmp_path / "ckpt")
    del meta["optimizer"]["t"]
    fresh = Tiny()
    fresh_optimizer = optim.AdamW(fresh.parameters(), lr=0.5)
    with pytest.raises(CheckpointError, match="does not fit"):
        restore_training(tmp_path / "ckpt", arrays, meta, fresh, fresh_optimizer)
    assert fresh_optimizer.lr == 0.5 and fresh_optimizer.state == {}


@pytest.mark.parametrize("shape", [(2, 3), (4, 3, 1)], ids=["too-few-inputs", "extra-axis"])
def test_weights_that_do_not_fit_are_refused_and_nothing_changes(tmp_path, shape):
    model, optimizer = trained_tiny()
    save_training(tmp_path / "ckpt", {"type": "tiny"}, model, optimizer)
    arrays, meta = load_checkpoint(tmp_path / "ckpt")
    arrays["model"]["first.weight"] = np.zeros(shape, np.float32)
    fresh = Tiny()
    before = fresh.state_dict()
    with pytest.raises(CheckpointError, match="does not fit.*shape mismatch for 'first.weight'"):
        restore_training(tmp_path / "ckpt", arrays, meta, fresh)
    after = fresh.state_dict()
    assert all(after[name].tobytes() == value.tobytes() for name, value in before.items())


def test_model_file_loads_in_pytorch_with_the_state_dict_names(tmp_path, torch, tiny_gpt):
    from safetensors.torch import load_file

    model, _, _ = tiny_gpt()
    save_training(tmp_path / "ckpt", {"type": "gpt"}, model)
    weights = load_file(tmp_path / "ckpt" / "model.safetensors")
    state = model.state_dict()
    assert weights.keys() == state.keys()
    for name, array in state.items():
        assert isinstance(weights[name], torch.Tensor)
        np.testing.assert_array_equal(weights[name].numpy(), array, err_msg=name)
        assert weights[name].numpy().dtype == array.dtype, name
