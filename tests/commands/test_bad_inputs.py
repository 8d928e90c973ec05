"""The bad-input table: what a hostile user types, and what every command answers.

Each command case runs a command's ``main(argv)`` in a folder of tiny inputs and saved runs,
and checks the contract of :mod:`gpt_from_scratch.commands.cli`: the exit status (2 for a bad
flag, 1 for a bad file, data set or checkpoint), exactly one line on standard error that starts
with ``error:`` and says what and where, no traceback, and not one byte changed on disk. Each
library case checks the typed error and its message, and that nothing changed either. Ctrl-C
is last: exit 130, one line, and the run folder still loads and resumes.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
import random
import re
import shlex
import shutil
from pathlib import Path

import pytest

from gpt_from_scratch import data
from gpt_from_scratch.bpe.base import ModelFileError
from gpt_from_scratch.bpe.regex_tokenizer import RegexTokenizer
from gpt_from_scratch.checkpoint import CheckpointError, load_checkpoint
from gpt_from_scratch.commands import activations, bpe, cli, gpt, makemore, manual_backprop
from gpt_from_scratch.commands import data as data_command
from gpt_from_scratch.commands import micrograd as micrograd_command
from gpt_from_scratch.micrograd.engine import Value
from gpt_from_scratch.runs import RunFolder

# The modules, not the functions their packages export under the same name.
makemore_train = importlib.import_module("gpt_from_scratch.makemore.train")
micrograd_train = importlib.import_module("gpt_from_scratch.micrograd.train")

COMMANDS = {
    "gpt": gpt.main,
    "makemore": makemore.main,
    "bpe": bpe.main,
    "micrograd": micrograd_command.main,
    "data": data_command.main,
    "activations": activations.main,
    "manual_backprop": manual_backprop.main,
}
TEXT = "To be, or not to be, that is the question.\n" * 20  # 860 characters, 86 for validation
GPT_SIZES = "--n-layer 1 --n-embd 16 --n-head 2 --block-size 8 --batch-size 4 --eval-iters 2"
GPT_NEW = f"train --input text.txt --out new {GPT_SIZES} --max-iters 2 --eval-interval 1 --quiet"
GPT_RESUME = f"train --input text.txt --resume {GPT_SIZES} --max-iters 4 --eval-interval 1 --quiet"
MM_SIZES = "--n-embd 4 --n-hidden 8 --batch-size 8 --quiet --num-samples 3"
MM_NEW = f"-i names.txt -o new {MM_SIZES} --steps 2 --eval-every 1"
MM_RESUME = "--resume --steps 4 --quiet"
BPE_NEW = "train text.txt --vocab-size 260 --out tok2"
ACCEPTED_MEMORY = 16 << 30  # what the memory estimates are measured against, on any machine
SEED_TOO_BIG = str(2**32)


def names(count: int = 300) -> list[str]:
    """A few hundred made-up names of a dozen syllables: a tiny makemore data set."""
    rng = random.Random(0)
    syllables = "ka li mo ra na be sa to vi el an da re mi lo ju".split()
    made = {"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(count)}
    return sorted(made)


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under ``folder``."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def call(main, argv: list[str]) -> int:
    """``main(argv)``'s exit status, whether it returns it or argparse raises SystemExit."""
    try:
        return main(argv)
    except SystemExit as exit_:
        return exit_.code


def drop_key_keeping_the_hash(run: Path, key: str) -> None:
    """Remove ``key`` from the last checkpoint's meta.json and record the new hash in the
    pointer, as a buggy writer (not a hand edit) would leave it."""
    pointer_path = run / "checkpoints.json"
    pointer = json.loads(pointer_path.read_text())
    meta_path = run / "steps" / pointer["last"]["folder"] / "meta.json"
    meta = json.loads(meta_path.read_text())
    del meta[key]
    meta_path.write_text(json.dumps(meta))
    digest = hashlib.sha256(meta_path.read_bytes()).hexdigest()
    for entry in [pointer["last"], pointer["best"], *pointer["recent"]]:
        if entry["folder"] == pointer["last"]["folder"]:
            entry["meta_sha256"] = digest
    pointer_path.write_text(json.dumps(pointer))


def last_step(run: Path) -> Path:
    return run / "steps" / json.loads((run / "checkpoints.json").read_text())["last"]["folder"]


def write_model_files(folder: Path) -> None:
    """A good tokenizer model file, and damaged ones, each one edit away from it."""
    tokenizer = RegexTokenizer()
    tokenizer.train("low lower lowest newer wider " * 20, 260)
    tokenizer.register_special_tokens({"<|x|>": 1000})
    tokenizer.save(folder / "tok")
    good = (folder / "tok.model").read_text(encoding="utf-8")
    pattern_line = good.splitlines()[1]
    edits = {
        "clash": good.replace('"<|x|>" 1000', '"<|x|>" 256'),  # 256 is the first merge's id
        "capture": good.replace(pattern_line, "pattern " + json.dumps(r"(\w+)|\W")),
        "partial": good.replace(pattern_line, "pattern " + json.dumps(r"\w+")),
        "badregex": good.replace(pattern_line, "pattern " + json.dumps("(unclosed")),
        "version": good.replace("gpt_from_scratch.bpe v1", "gpt_from_scratch.bpe v9"),
        "truncated": "\n".join(good.splitlines()[:-2]) + "\n",
    }
    for name, text in edits.items():
        (folder / f"{name}.model").write_text(text, encoding="utf-8")
    (folder / "binary.model").write_bytes(b"\xff\xfe\x00model")


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A folder of inputs and saved runs, built once: every case gets a fresh copy of it."""
    root = tmp_path_factory.mktemp("template")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        (root / "text.txt").write_text(TEXT, encoding="utf-8")
        (root / "names.txt").write_text("\n".join(names()) + "\n", encoding="utf-8")
        (root / "empty.txt").write_bytes(b"")
        (root / "binary.bin").write_bytes(b"\xff\xfe\x00abc\n")
        (root / "folder").mkdir()
        (root / "tokdir.model").mkdir()
        (root / "notarun").mkdir()
        (root / "notarun" / "notes.txt").write_text("mine\n")
        (root / "mirror").mkdir()
        (root / "mirror" / "names.txt").write_text("not the published names\n")
        write_model_files(root)
        gpt_new = GPT_NEW.replace("--out new", "--out grun")
        assert gpt.main(shlex.split(gpt_new)) == 0
        assert makemore.main(shlex.split(MM_NEW.replace("-o new", "-o mrun"))) == 0
    for run in ("grun", "mrun"):
        for damage in ("edited", "lacks"):
            shutil.copytree(root / run, root / f"{run}_{damage}")
        edited = last_step(root / f"{run}_edited") / "meta.json"
        edited.write_text(edited.read_text().replace('"step"', '"stepp"'))
    drop_key_keeping_the_hash(root / "grun_lacks", "rng")
    drop_key_keeping_the_hash(root / "mrun_lacks", "best_dev_loss")
    shutil.copytree(root / "mrun", root / "mrun_badlog")
    log = root / "mrun_badlog" / "log.jsonl"
    log.write_text(log.read_text().splitlines()[0] + "\n{not json\n")
    shutil.copytree(root / "grun", root / "grun_truncated")
    weights = last_step(root / "grun_truncated") / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-100])
    shutil.copytree(root / "grun", root / "grun_badpointer")
    (root / "grun_badpointer" / "checkpoints.json").write_text("{not json")
    return root


@pytest.fixture
def workspace(template, tmp_path, monkeypatch):
    """A fresh copy of the template as the working folder; no data-set mirror, an empty
    cache, and a fixed amount of memory for the size estimates."""
    folder = tmp_path / "ws"
    shutil.copytree(template, folder)
    monkeypatch.chdir(folder)
    monkeypatch.delenv(data.ENV_DATA, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(cli, "available_memory", lambda: ACCEPTED_MEMORY)
    return folder


def case(command, argv, code, message, *, env=None):
    return pytest.param(command, argv, code, message, env or {}, id=f"{command} {short(argv)}")


def short(argv: str) -> str:
    """A case's id: its argv without the tiny sizes every case of a command shares."""
    return argv.replace(f" {GPT_SIZES}", "").replace(f" {MM_SIZES}", "").replace(" --quiet", "")


USAGE, FAILURE = cli.EXIT_USAGE, cli.EXIT_FAILURE

COMMAND_CASES = [
    # -- gpt train: every rate, size and count flag; non-numbers; seeds -----------------------
    *[
        case("gpt", f"{GPT_NEW} --lr={bad}", USAGE, r"argument --lr: .*" + re.escape(bad))
        for bad in ("nan", "inf", "-inf", "0", "-1", "abc", "1e309")
    ],
    *[
        case("gpt", f"{GPT_NEW} --{flag} {bad}", USAGE, f"argument --{flag}: .*{bad}")
        for flag in ("max-iters", "batch-size", "eval-interval", "eval-iters")
        for bad in ("0", "-1")
    ],
    case("gpt", f"{GPT_NEW} --max-iters 2.5", USAGE, "--max-iters: expected an integer, got '2.5'"),
    case("gpt", f"{GPT_NEW} --batch-size ten", USAGE, "--batch-size: expected an integer"),
    case("gpt", f"{GPT_NEW} --seed -1", USAGE, r"--seed: must be in \[0, 4294967295\], got -1"),
    case("gpt", f"{GPT_NEW} --seed {SEED_TOO_BIG}", USAGE, f"--seed: .*{SEED_TOO_BIG}"),
    *[
        case("gpt", f"{GPT_NEW} --{flag} {bad}", USAGE, f"argument --{flag}: .*{bad}")
        for flag in ("n-embd", "n-layer", "n-head", "block-size")
        for bad in ("0", "-1")
    ],
    case("gpt", f"{GPT_NEW} --n-embd 65537", USAGE, r"--n-embd: must be in \[1, 65536\]"),
    case("gpt", f"{GPT_NEW} --dropout 1", USAGE, "argument --dropout: .*<= 0.99"),
    case("gpt", f"{GPT_NEW} --dropout nan", USAGE, "argument --dropout: .*nan"),
    case("gpt", f"{GPT_NEW} --dropout -0.1", USAGE, "argument --dropout: .*-0.1"),
    case("gpt", f"{GPT_NEW} --keep 0", USAGE, r"argument --keep: must be in \[1, 1000\]"),
    case("gpt", f"{GPT_NEW} --n-head 3", USAGE, "--n-embd 16 must be divisible by --n-head 3"),
    case(
        "gpt",
        f"{GPT_NEW} --n-embd 65536 --n-layer 100",
        USAGE,
        r"needs about [\d.]+ GiB of memory, more than the 16.0 GiB available",
    ),
    case(
        "gpt",
        f"{GPT_NEW} --block-size 256",
        USAGE,
        r"--input text.txt: the validation part .*86 characters.* longer than --block-size 256",
    ),
    case("gpt", "train --out new", USAGE, "the following arguments are required: --input"),
    case("gpt", "fly --out new", USAGE, "invalid choice: 'fly'"),
    # -- gpt train: input files and data sets ---------------------------------------------------
    case("gpt", GPT_NEW.replace("text.txt", "missing.txt"), FAILURE, "missing.txt: no such file"),
    case("gpt", GPT_NEW.replace("text.txt", "folder"), FAILURE, "folder: is a folder"),
    case(
        "gpt", GPT_NEW.replace("text.txt", "binary.bin"), FAILURE, "binary.bin, line 1: not UTF-8"
    ),
    case("gpt", GPT_NEW.replace("text.txt", "empty.txt"), FAILURE, "empty.txt: the file is empty"),
    case(
        "gpt",
        GPT_NEW.replace("text.txt", "tinyshakespeare"),
        FAILURE,
        r"\$GPT_FROM_SCRATCH_DATA is '.*missing', which is not a folder",
        env={data.ENV_DATA: "missing"},
    ),
    case(
        "gpt",
        GPT_NEW.replace("text.txt", "names"),
        FAILURE,
        r"mirror/names.txt: SHA-256 mismatch",
        env={data.ENV_DATA: "mirror"},
    ),
    # -- gpt train: run folders -------------------------------------------------------------------
    case("gpt", GPT_NEW.replace("new", "grun"), USAGE, "--out grun already holds a run.*--resume"),
    case("gpt", GPT_NEW.replace("new", "notarun"), USAGE, r"--out notarun holds files .*notes.txt"),
    case("gpt", f"{GPT_RESUME} --out nowhere", USAGE, "--out nowhere holds no saved run"),
    case("gpt", f"{GPT_RESUME} --out folder", USAGE, "--out folder holds no saved run"),
    case(
        "gpt",
        f"{GPT_RESUME} --out grun_edited",
        FAILURE,
        r"grun_edited/steps/step-0*2/meta.json: contents do not match the run's pointer file",
    ),
    case(
        "gpt",
        f"{GPT_RESUME} --out grun_lacks",
        FAILURE,
        r"grun_lacks/steps/step-0*2: meta.json lacks \['rng'\]",
    ),
    case(
        "gpt",
        f"{GPT_RESUME} --out grun_badpointer",
        FAILURE,
        r"grun_badpointer/checkpoints.json: the run's pointer is damaged",
    ),
    case("gpt", f"{GPT_RESUME} --out grun --lr nan", USAGE, "argument --lr: .*nan"),
    case("gpt", f"{GPT_RESUME} --out grun --max-iters 0", USAGE, "argument --max-iters"),
    case(
        "gpt", f"{GPT_RESUME} --out grun --n-embd 32", FAILURE, r"n_embd: checkpoint 16, asked 32"
    ),
    case(
        "gpt",
        f"{GPT_RESUME} --out grun".replace("text.txt", "names.txt"),
        FAILURE,
        "another text|does not match",
    ),
    case(
        "gpt",
        GPT_NEW.replace("new", "text.txt"),
        FAILURE,
        "text.txt: is a file, not a run folder",
    ),
    # -- gpt sample ----------------------------------------------------------------------------
    *[
        case("gpt", f"sample --out grun --temperature {bad}", USAGE, f"--temperature: .*{bad}")
        for bad in ("nan", "inf", "0", "-1")
    ],
    case("gpt", "sample --out grun --top-k 0", USAGE, r"argument --top-k: must be in \[1, "),
    case("gpt", "sample --out grun --length -1", USAGE, r"argument --length: must be in \[0, "),
    case("gpt", "sample --out grun --seed -1", USAGE, "argument --seed"),
    case("gpt", "sample --out nowhere", FAILURE, r"nowhere: holds no saved run \(checkpoints.json"),
    case(
        "gpt",
        "sample --out grun --prompt Z",
        FAILURE,
        "'Z' .*not in the vocabulary|not in the vocabulary.*'Z'",
    ),
    case(
        "gpt",
        "sample --out grun_truncated",
        FAILURE,
        r"grun_truncated/steps/step-0*2/model.safetensors: contents do not match meta.json",
    ),
    # -- makemore: flags ----------------------------------------------------------------------
    *[
        case("makemore", f"{MM_NEW} --{flag} {bad}", USAGE, f"argument --{flag}: .*{bad}")
        for flag in ("lr", "lr-final")
        for bad in ("nan", "inf", "0", "-1")
    ],
    *[
        case("makemore", f"{MM_NEW} --{flag} {bad}", USAGE, f"argument --{flag}: .*{bad}")
        for flag in ("steps", "batch-size", "eval-every", "block-size", "n-embd", "n-hidden")
        for bad in ("0", "-1")
    ],
    case("makemore", f"{MM_NEW} --temperature 0", USAGE, "argument --temperature: .*0"),
    case("makemore", f"{MM_NEW} --temperature nan", USAGE, "argument --temperature: .*nan"),
    case("makemore", f"{MM_NEW} --num-samples -1", USAGE, r"--num-samples: must be in \[0, "),
    case("makemore", f"{MM_NEW} --seed -1", USAGE, "argument --seed: .*-1"),
    case(
        "makemore", f"{MM_NEW} --seed {SEED_TOO_BIG}", USAGE, f"argument --seed: .*{SEED_TOO_BIG}"
    ),
    case(
        "makemore",
        f"{MM_NEW} --block-size abc",
        USAGE,
        "--block-size: expected an integer, got 'abc'",
    ),
    case("makemore", f"{MM_NEW} --decay-at 1.5", USAGE, "argument --decay-at: .*<= 1"),
    case("makemore", f"{MM_NEW} --weight-decay -1", USAGE, "argument --weight-decay: .*-1"),
    case("makemore", f"{MM_NEW} --warmup-steps -1", USAGE, "argument --warmup-steps: .*-1"),
    case("makemore", f"{MM_NEW} --dropout 1", USAGE, "argument --dropout: .*<= 0.99"),
    case("makemore", f"{MM_NEW} --keep 0", USAGE, "argument --keep"),
    case("makemore", f"{MM_NEW} --type lstm9", USAGE, "argument --type: invalid choice: 'lstm9'"),
    case("makemore", f"{MM_NEW} --block-size 1025", USAGE, r"--block-size: must be in \[1, 1024\]"),
    case(
        "makemore",
        f"{MM_NEW} --type mlp --block-size 1024 --n-embd 60000",
        USAGE,
        r"--type mlp with .*'n_embd': 60000.* needs about [\d.]+ GiB of memory, more than the 16.0",
    ),
    case("makemore", "-o new --quiet", USAGE, "a new run needs --input"),
    # -- makemore: input files and data sets ----------------------------------------------------
    case(
        "makemore",
        MM_NEW.replace("names.txt", "binary.bin"),
        FAILURE,
        "binary.bin, line 1: not UTF-8",
    ),
    case("makemore", MM_NEW.replace("names.txt", "empty.txt"), FAILURE, "empty.txt: no words"),
    case(
        "makemore",
        MM_NEW.replace("names.txt", "text.txt"),
        FAILURE,
        r"text.txt, line 1: character '.'",
    ),
    case(
        "makemore",
        MM_NEW.replace("names.txt", "missing.txt"),
        FAILURE,
        "missing.txt: no such file",
    ),
    case(
        "makemore",
        MM_NEW.replace("names.txt", "folder"),
        FAILURE,
        "folder: is a folder",
    ),
    case(
        "makemore",
        MM_NEW.replace("names.txt", "names"),
        FAILURE,
        r"^error: \$GPT_FROM_SCRATCH_DATA is '.*missing', which is not a folder",
        env={data.ENV_DATA: "missing"},
    ),
    # -- makemore: run folders ------------------------------------------------------------------
    case("makemore", MM_NEW.replace("new", "mrun"), USAGE, "--out mrun already holds a run"),
    case("makemore", f"-o nowhere {MM_RESUME}", USAGE, "--out nowhere holds no saved run"),
    case(
        "makemore",
        f"-o mrun_badlog {MM_RESUME}",
        FAILURE,
        r"mrun_badlog/log.jsonl, line 2: damaged log",
    ),
    case(
        "makemore",
        f"-o mrun_edited {MM_RESUME}",
        FAILURE,
        r"mrun_edited/steps/step-0*2/meta.json: contents do not match the run's pointer file",
    ),
    case(
        "makemore",
        f"-o mrun_lacks {MM_RESUME}",
        FAILURE,
        r"mrun_lacks/steps/step-0*2: meta.json lacks \['best_dev_loss'\]",
    ),
    case("makemore", f"-o mrun {MM_RESUME} --lr nan", USAGE, "argument --lr: .*nan"),
    case(
        "makemore",
        f"-o mrun {MM_RESUME} --n-embd 5",
        USAGE,
        r"mrun holds a model with .*'n_embd': 5",
    ),
    case(
        "makemore",
        f"-o mrun {MM_RESUME} --type bigram",
        FAILURE,
        "holds a 'wavenet' model, not a 'bigram'",
    ),
    case(
        "makemore",
        f"-o mrun {MM_RESUME} -i text.txt",
        USAGE,
        "text.txt is not the file this run trained on",
    ),
    case("makemore", "-o nowhere --sample-only", FAILURE, "nowhere: holds no saved run"),
    case("makemore", "-o mrun --sample-only --temperature -1", USAGE, "--temperature: .*-1"),
    case(
        "makemore",
        MM_NEW.replace("new", "names.txt"),
        FAILURE,
        "names.txt: is a file, not a run folder",
    ),
    # -- bpe ----------------------------------------------------------------------------------
    *[
        case("bpe", f"{BPE_NEW} --vocab-size {bad}", USAGE, f"argument --vocab-size: .*{bad}")
        for bad in ("255", "0", "-1", "abc", str(2**20 + 1), "1e4")
    ],
    case("bpe", BPE_NEW.replace("text.txt", "empty.txt"), FAILURE, "empty.txt: the file is empty"),
    case("bpe", BPE_NEW.replace("text.txt", "folder"), FAILURE, "folder: is a folder"),
    case("bpe", BPE_NEW.replace("text.txt", "missing.txt"), FAILURE, "missing.txt: no such file"),
    case(
        "bpe",
        BPE_NEW.replace("text.txt", "binary.bin"),
        FAILURE,
        "binary.bin, line 1: not UTF-8 text",
    ),
    case("bpe", BPE_NEW.replace("text.txt", "nodataset"), FAILURE, "nor a data set name"),
    case(
        "bpe",
        BPE_NEW.replace("text.txt", "taylorswift"),
        FAILURE,
        r"\$GPT_FROM_SCRATCH_DATA is '.*missing', which is not a folder",
        env={data.ENV_DATA: "missing"},
    ),
    case(
        "bpe",
        BPE_NEW.replace("tok2", "text.txt/tok"),
        USAGE,
        "--out text.txt/tok: text.txt is a file",
    ),
    case("bpe", BPE_NEW.replace("tok2", "tokdir"), USAGE, "--out tokdir: tokdir.model is a folder"),
    case("bpe", "train text.txt", USAGE, "the following arguments are required: --out"),
    case("bpe", "encode missing.model hi", FAILURE, "missing.model: cannot read the model file"),
    case("bpe", "encode folder hi", FAILURE, "folder: Is a directory|folder: is a folder"),
    case("bpe", "encode binary.model hi", FAILURE, "binary.model: not a UTF-8 text file"),
    case("bpe", "encode version.model hi", FAILURE, "version.model, line 1: unknown version"),
    case(
        "bpe", "encode truncated.model hi", FAILURE, r"truncated.model, line \d+: file ends early"
    ),
    case("bpe", "encode clash.model hi", FAILURE, r"clash\.model.*256"),
    case(
        "bpe",
        "encode capture.model hi",
        FAILURE,
        r"capture\.model.*(group|capture)",
    ),
    case("bpe", "encode partial.model hi", FAILURE, r"partial\.model"),
    case("bpe", "encode badregex.model hi", FAILURE, r"badregex\.model"),
    case("bpe", "decode tok.model 1", USAGE, "invalid choice: 'decode'"),
    # -- micrograd -------------------------------------------------------------------------------
    *[
        case("micrograd", f"--points {bad}", USAGE, f"argument --points: .*{bad}")
        for bad in ("0", "1", "-1", "abc", "100001")
    ],
    *[
        case("micrograd", f"--steps {bad}", USAGE, f"argument --steps: .*{bad}")
        for bad in ("0", "-1", "1.5", "1000001")
    ],
    *[
        case("micrograd", f"--noise {bad}", USAGE, f"argument --noise: .*{bad}")
        for bad in ("nan", "inf", "-1", "abc")
    ],
    *[
        case("micrograd", f"--lr {bad}", USAGE, f"argument --lr: .*{bad}")
        for bad in ("nan", "inf", "0", "-1", "1e3")
    ],
    case("micrograd", "--seed -1", USAGE, "argument --seed: .*-1"),
    case("micrograd", f"--seed {SEED_TOO_BIG}", USAGE, f"argument --seed: .*{SEED_TOO_BIG}"),
    # -- data, activations, manual_backprop -------------------------------------------------------
    case("data", "fetch nonexistent", FAILURE, "unknown data set 'nonexistent'; known data sets"),
    case("data", "fetch names nonexistent", FAILURE, "unknown data set 'nonexistent'"),
    case(
        "data",
        "fetch names",
        FAILURE,
        r"\$GPT_FROM_SCRATCH_DATA is '.*missing', which is not a folder",
        env={data.ENV_DATA: "missing"},
    ),
    case(
        "data",
        "fetch names",
        FAILURE,
        r"\$GPT_FROM_SCRATCH_DATA is '.*text.txt', which is not a folder",
        env={data.ENV_DATA: "text.txt"},
    ),
    case(
        "data",
        "fetch names",
        FAILURE,
        r"mirror/names.txt: SHA-256 mismatch",
        env={data.ENV_DATA: "mirror"},
    ),
    case("data", "get names", USAGE, "invalid choice: 'get'"),
    case("activations", "--steps 0", USAGE, r"argument --steps: must be in \[1, "),
    case("activations", "--seed -1", USAGE, "argument --seed"),
    case("activations", "--init xavier", USAGE, "argument --init: invalid choice: 'xavier'"),
    case(
        "activations",
        "--steps 1",
        FAILURE,
        r"\$GPT_FROM_SCRATCH_DATA is '.*missing', which is not a folder",
        env={data.ENV_DATA: "missing"},
    ),
    case("manual_backprop", "--steps -1", USAGE, "argument --steps"),
    case("manual_backprop", "--n-hidden 0", USAGE, r"argument --n-hidden: must be in \[1, "),
    case("manual_backprop", f"--seed {SEED_TOO_BIG}", USAGE, "argument --seed"),
    case(
        "manual_backprop",
        "--steps 1",
        FAILURE,
        r"mirror/names.txt: SHA-256 mismatch",
        env={data.ENV_DATA: "mirror"},
    ),
]


@pytest.mark.parametrize("command, argv, code, message, env", COMMAND_CASES)
def test_a_bad_input_is_one_line_an_exit_status_and_no_change(
    workspace, capsys, monkeypatch, command, argv, code, message, env
):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(workspace)
    status = call(COMMANDS[command], shlex.split(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    assert err.count("\n") == 1 and err.startswith("error: "), err
    assert re.search(message, err), err
    assert status == code, err
    assert snapshot(workspace) == before


def load_tokenizer(name):
    return lambda: RegexTokenizer.load(f"{name}.model")


LIBRARY_CASES = [
    pytest.param(
        load_tokenizer("version"),
        ModelFileError,
        "version.model, line 1: unknown version",
        id="tokenizer version",
    ),
    pytest.param(
        load_tokenizer("truncated"),
        ModelFileError,
        r"truncated.model, line \d+: file ends early",
        id="tokenizer truncated",
    ),
    pytest.param(
        load_tokenizer("binary"),
        ModelFileError,
        "binary.model: not a UTF-8 text file",
        id="tokenizer binary",
    ),
    pytest.param(
        load_tokenizer("clash"),
        ModelFileError,
        r"clash\.model.*256",
        id="tokenizer special id clashes with a merge",
    ),
    pytest.param(
        load_tokenizer("capture"),
        ModelFileError,
        r"capture\.model.*(group|capture)",
        id="tokenizer pattern with a capture group",
    ),
    pytest.param(
        load_tokenizer("partial"),
        ModelFileError,
        r"partial\.model",
        id="tokenizer pattern that drops text",
    ),
    pytest.param(
        load_tokenizer("badregex"),
        ModelFileError,
        r"badregex\.model",
        id="tokenizer pattern that does not compile",
    ),
    pytest.param(
        lambda: load_checkpoint(last_step(Path("grun_truncated"))),
        CheckpointError,
        r"model.safetensors: contents do not match meta.json",
        id="checkpoint truncated weights",
    ),
    pytest.param(
        lambda: load_checkpoint(last_step(Path("grun")), expected_type="wavenet"),
        CheckpointError,
        r"holds a 'gpt' model, not a 'wavenet' model",
        id="checkpoint of another type",
    ),
    pytest.param(
        lambda: load_checkpoint("nowhere"),
        CheckpointError,
        r"nowhere: no checkpoint here",
        id="checkpoint missing folder",
    ),
    pytest.param(
        lambda: load_checkpoint(Path("folder")),
        CheckpointError,
        r"folder: no checkpoint here \(meta.json is missing\)",
        id="checkpoint empty folder",
    ),
    pytest.param(
        lambda: RunFolder("grun_edited").load("last"),
        CheckpointError,
        r"meta.json: contents do not match the run's pointer file",
        id="run folder edited meta.json",
    ),
    pytest.param(
        lambda: RunFolder("grun_badpointer").load("best"),
        CheckpointError,
        r"grun_badpointer/checkpoints.json: the run's pointer is damaged",
        id="run folder damaged pointer",
    ),
    pytest.param(
        lambda: data.file_or_dataset("folder"),
        data.DataError,
        "folder: is a folder",
        id="data a folder for a file",
    ),
    pytest.param(
        lambda: data.dataset("nonexistent"),
        data.DataError,
        "unknown data set 'nonexistent'",
        id="data unknown name",
    ),
    pytest.param(
        lambda: Value("2.0"),
        TypeError,
        "str|'2.0'",
        id="Value of a string",
    ),
    pytest.param(
        lambda: Value(None),
        TypeError,
        "None",
        id="Value of None",
    ),
]


@pytest.mark.parametrize("load, error, message", LIBRARY_CASES)
def test_the_library_raises_a_typed_error_saying_what_and_where(workspace, load, error, message):
    before = snapshot(workspace)
    with pytest.raises(error, match=message) as caught:
        load()
    assert "\n" not in str(caught.value)
    assert snapshot(workspace) == before


# -- Ctrl-C ---------------------------------------------------------------------------------------


def interrupt_at_step(monkeypatch, module, name: str, number: int):
    """Make the ``number``-th call (counting from 1) of ``module.name``, a training step, raise
    Ctrl-C; returns the original step."""
    step, calls = getattr(module, name), [0]

    def interrupted(*args, **kwargs):
        calls[0] += 1
        if calls[0] == number:
            raise KeyboardInterrupt
        return step(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)
    return step


def only_error_line(err: str) -> str:
    """The one line that starts with ``error:``, at the end (a progress bar may come first)."""
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and err.rstrip("\n").endswith(errors[0]), err
    assert "Traceback" not in err
    return errors[0]


@pytest.mark.parametrize("command", ["gpt", "makemore"])
def test_ctrl_c_keeps_the_last_checkpoint_and_exits_130(workspace, capsys, monkeypatch, command):
    step = interrupt_at_step(monkeypatch, makemore_train, "train_step", 3)  # 1 and 2 are saved
    if command == "gpt":
        argv = GPT_NEW.replace("--max-iters 2", "--max-iters 4")
    else:
        argv = MM_NEW.replace("--steps 2", "--steps 4")
    assert call(COMMANDS[command], shlex.split(argv)) == cli.EXIT_INTERRUPTED
    line = only_error_line(capsys.readouterr().err)
    assert re.match(r"error: interrupted; the run is saved at step 2 in new.*--resume", line), line
    if command == "gpt":
        _, _, meta = gpt.load_model("new", "last")
    else:
        *_, meta = makemore.restore_model(RunFolder("new"), "last", "wavenet")
    assert meta["step"] == 2
    monkeypatch.setattr(makemore_train, "train_step", step)
    resume = GPT_RESUME + " --out new" if command == "gpt" else f"-o new {MM_RESUME}"
    assert call(COMMANDS[command], shlex.split(resume)) == 0


@pytest.mark.parametrize("command", ["gpt", "makemore"])
def test_ctrl_c_before_the_first_save_leaves_no_folder(workspace, capsys, monkeypatch, command):
    interrupt_at_step(monkeypatch, makemore_train, "train_step", 1)
    before = snapshot(workspace)
    argv = GPT_NEW if command == "gpt" else MM_NEW
    assert call(COMMANDS[command], shlex.split(argv)) == cli.EXIT_INTERRUPTED
    line = only_error_line(capsys.readouterr().err)
    assert line.startswith("error: interrupted; no checkpoint was saved in new"), line
    assert snapshot(workspace) == before


def test_relu_keeps_nan_so_that_a_nan_run_cannot_report_loss_0():
    assert math.isnan(Value(math.nan).relu().data)


def test_ctrl_c_in_micrograd_exits_130(workspace, capsys, monkeypatch):
    interrupt_at_step(monkeypatch, micrograd_train, "training_step", 2)
    assert call(micrograd_command.main, ["--points", "10", "--steps", "5"]) == 130
    assert only_error_line(capsys.readouterr().err).startswith("error: interrupted")


def test_ctrl_c_in_bpe_training_writes_no_model(workspace, capsys, monkeypatch):
    before = snapshot(workspace)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("gpt_from_scratch.bpe.regex_tokenizer.train_fast", interrupted)
    assert call(bpe.main, shlex.split(BPE_NEW)) == 130
    assert only_error_line(capsys.readouterr().err).startswith("error: interrupted")
    assert snapshot(workspace) == before


def test_the_table_has_at_least_sixty_cases():
    assert len(COMMAND_CASES) + len(LIBRARY_CASES) >= 60
