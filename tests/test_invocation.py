"""Commands printed as fixes carry the run's options and work when pasted."""

import os
import shlex

from biorepro.store.invocation import Invocation, parse_overrides


def test_fix_commands_carry_configfiles_and_overrides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    inv = Invocation(str(tmp_path), ("my.yaml", "b c.yaml"), ("seeds=[1,2]",))
    words = shlex.split(inv.biorepro("fsck", "--repair"))
    assert words[1:] == ["fsck", "--repair", "--configfile", "my.yaml", "b c.yaml",
                         "--config", "seeds=[1,2]"]
    elsewhere = Invocation(str(tmp_path / "w"), ())
    assert elsewhere.snakemake("--cores", "all").startswith(f"cd {tmp_path / 'w'} && snakemake")


def test_invocation_travels_through_the_environment():
    env = {}
    Invocation("/w", ("a.yaml",), ("x=1",)).export(env)
    assert Invocation.current(env) == Invocation("/w", ("a.yaml",), ("x=1",))
    assert Invocation.current({}).workdir == os.getcwd()


def test_overrides_parse_as_snakemake_parses_them():
    assert parse_overrides(["seeds=3", "experiment=x", "train={epochs: 2}"]) == {
        "seeds": 3, "experiment": "x", "train": {"epochs": "2"}}

