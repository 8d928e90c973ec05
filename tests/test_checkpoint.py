import json

import numpy as np
import pytest

from gpt_from_scratch.checkpoint import (
    ARRAYS,
    META,
    CheckpointError,
    load_checkpoint,
    save_checkpoint,
)


@pytest.fixture
def state():
    rng = np.random.default_rng(0)
    return {
        "w": rng.standard_normal((4, 3)).astype(np.float32),
        "b": rng.standard_normal(3),
        "steps": np.array([7], dtype=np.int64),
    }


def test_round_trip_is_bit_exact(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "mlp", "config": {"n": 3}, "vocab": ["."]})
    loaded, meta = load_checkpoint(tmp_path, expected_type="mlp")
    assert loaded.keys() == state.keys()
    for name, value in state.items():
        assert loaded[name].dtype == value.dtype
        assert loaded[name].tobytes() == value.tobytes()
    assert meta["config"] == {"n": 3} and meta["vocab"] == ["."]


def test_other_model_type_is_refused(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "wavenet"})
    with pytest.raises(CheckpointError, match="'wavenet' model, not a 'mlp'"):
        load_checkpoint(tmp_path, expected_type="mlp")


def test_truncated_arrays_are_detected(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "mlp"})
    data = (tmp_path / ARRAYS).read_bytes()
    (tmp_path / ARRAYS).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated, corrupt"):
        load_checkpoint(tmp_path)


def test_corrupt_meta_is_detected(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "mlp"})
    (tmp_path / META).write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_checkpoint(tmp_path)


def test_unknown_version_is_refused(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "mlp"})
    meta = json.loads((tmp_path / META).read_text())
    meta["format_version"] = 99
    (tmp_path / META).write_text(json.dumps(meta))
    with pytest.raises(CheckpointError, match="unknown checkpoint format version 99"):
        load_checkpoint(tmp_path)


def test_missing_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint here"):
        load_checkpoint(tmp_path / "nowhere")


def test_failed_save_leaves_previous_checkpoint_intact(tmp_path, state):
    save_checkpoint(tmp_path, state, {"type": "mlp", "step": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    with pytest.raises(TypeError, match="not JSON-serialisable"):
        save_checkpoint(tmp_path, state, {"type": "mlp", "step": object()})
    with pytest.raises(TypeError, match="numeric numpy array"):
        save_checkpoint(tmp_path, {"w": [1, 2]}, {"type": "mlp"})
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before
    loaded, meta = load_checkpoint(tmp_path)
    assert meta["step"] == 1


def test_interrupted_write_leaves_no_partial_file(tmp_path, state, monkeypatch):
    save_checkpoint(tmp_path, state, {"type": "mlp", "step": 1})
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, state, {"type": "mlp", "step": 2})
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
