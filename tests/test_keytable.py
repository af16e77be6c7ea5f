"""The tiny configuration's keys, per stage, against a recorded table: a change that
alters keys (and so reruns every user's entries of a stage) is made on purpose.

The tiny configuration plans a fixed stand-in dataset of small files (planning hashes
videos, never decodes them), so the table depends on the code, its packages and the
parameters only. To record a deliberate change: ``make keys``, then say in the README's
changelog which stages rerun.
"""

import json
import os
from pathlib import Path

from biorepro import config as cfg
from biorepro.keytable import differences, key_table, main
from biorepro.plan import build_plan

REPO = Path(__file__).resolve().parents[1]
TABLE = Path(__file__).with_name("keys-tiny.json")
WRITE = "BIOREPRO_WRITE_KEYS"  # set by `make keys`


def stand_in(root: Path) -> Path:
    """Two videos of each class in each split, each file's bytes its own name."""
    for split in ("train", "devel", "test"):
        for cls in ("bonafide", "print"):
            for i in range(2):
                path = root / split / cls / f"client{i}_{split}_{cls}.mov"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(path.name.encode())
    return root


def tiny_table(tmp_path: Path) -> dict:
    conf = cfg.load([REPO / "config/config.yaml", REPO / "config/tiny.yaml"], {
        "dataset": {"kind": "folders", "root": str(stand_in(tmp_path / "data"))},
        "store": str(tmp_path / "store"), "stat_cache": str(tmp_path / "stat.sqlite")})
    return key_table(build_plan(conf))


def test_the_tiny_configuration_s_keys_are_as_recorded(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    now = tiny_table(tmp_path)
    if os.environ.get(WRITE):
        TABLE.write_text(json.dumps(now, indent=1) + "\n")
    changed = differences(json.loads(TABLE.read_text()), now)
    assert not changed, (
        "the keys of the tiny configuration changed, so every user's entries of these "
        "stages rerun after this change (early cutoff spares what follows them only if "
        "their bytes stay the same):\n  " + "\n  ".join(changed) + "\nIf that is "
        "intended, record the new keys with `make keys` and say in the README's changelog "
        "which stages rerun.")


def test_the_table_follows_the_plan_not_the_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    assert tiny_table(tmp_path / "a") == tiny_table(tmp_path / "b")


def test_differences_name_modules_versions_and_recipes():
    old = {"frames": {"modules": {"m": "1", "gone": "2"}, "versions": {"numpy": "1.0"},
                      "entries": 3, "recipes": "r"},
           "split": {"modules": {}, "versions": {}, "entries": 1, "recipes": "s"}}
    new = {"frames": {"modules": {"m": "9", "added": "3"}, "versions": {"numpy": "2.0"},
                      "entries": 3, "recipes": "x"},
           "split": {"modules": {}, "versions": {}, "entries": 1, "recipes": "t"},
           "cross": {"modules": {}, "versions": {}, "entries": 1, "recipes": "c"}}
    assert differences(old, new) == [
        "frames: module added new; module gone gone; module m 1 -> 9; version numpy 1.0 -> 2.0",
        "split: recipes follow frames (keys unchanged where their bytes are)",
        "cross: stage new"]
    assert differences(old, old) == []
    assert differences(old, {**old, "split": new["split"]}) == ["split: parameters changed"]


def test_the_command_compares_and_records(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    stand_in(tmp_path / "data")
    conf = tmp_path / "c.yaml"
    conf.write_text(f"dataset: {{kind: folders, root: {tmp_path / 'data'}}}\n")
    table = tmp_path / "t.json"
    assert main([str(table), str(REPO / "config/config.yaml"), str(conf), "--write"]) == 0
    assert main([str(table), str(REPO / "config/config.yaml"), str(conf)]) == 0
    assert "keys as recorded" in capsys.readouterr().out
    assert main([str(table), str(REPO / "config/config.yaml"), str(REPO / "config/tiny.yaml"),
                 str(conf)]) == 1
    assert "parameters changed" in capsys.readouterr().out
