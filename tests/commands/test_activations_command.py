"""The activations command: several seeds per recipe, and a record of every run."""

import json

from gpt_from_scratch.commands import activations


def test_seeds_print_the_spread_and_the_record_holds_every_run(dataset, tmp_path, capsys):
    dataset("names")
    record = tmp_path / "results" / "act.json"
    argv = ["--init", "kaiming", "--steps", "4", "--seeds", "2", "--seed", "7", "--record"]
    assert activations.main([*argv, str(record)]) == 0
    out = capsys.readouterr().out
    assert "Kaiming init: initial loss" in out and "over 2 seeds" in out
    saved = json.loads(record.read_text())
    assert saved["command"].endswith(f"--steps 4 --seeds 2 --seed 7 --record {record}")
    assert saved["steps"] == 4 and saved["seeds"] == [7, 8] and "cores" in saved["machine"]
    runs = saved["runs"]["kaiming"]
    assert [run["seed"] for run in runs] == [7, 8] and runs[0]["dev"] != runs[1]["dev"]
    assert all(run["initial"] > run["dev"] > 0 for run in runs)
