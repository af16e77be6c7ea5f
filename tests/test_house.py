"""The layout of the code keeps its promises: imports flow one way, every stage has one
name, code that cannot change results stays out of keys, every public name says what
it does."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from biorepro.store import stages
from biorepro.store.fingerprint import NOT_FINGERPRINTED, code_fingerprint
from biorepro.store.stages import NAMES, STAGES

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "biorepro"
# Lower layers never import higher ones; packages of one layer never import each other.
LAYERS = {"joblog": 0, "errors": 0, "store": 0, "data": 1, "synth": 1, "train": 2, "evaluate": 2,
          "aggregate": 3, "jobs": 4}
TOP = 5  # cli, config, plan, status, gc, recheck: the commands and the plan
STAGE_PACKAGES = ("data", "synth", "train", "evaluate", "aggregate")


def modules() -> dict[str, Path]:
    """``{dotted name: file}`` of every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(REPO).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(path: Path) -> set[str]:
    """The ``biorepro`` modules and packages a file imports (relative imports resolved)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{path}: use absolute imports"
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    names = modules()
    return {n for n in found if n in names and n != "biorepro"}


def unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: ``store``, ``cli``, ..."""
    return module.split(".")[1] if module.count(".") else module


def layer(module: str) -> int:
    return LAYERS.get(unit(module), TOP)


def test_imports_flow_from_jobs_to_stages_to_the_store():
    wrong = []
    for name, path in modules().items():
        for imported in imports(path):
            same_unit = unit(imported) == unit(name)
            if not same_unit and (layer(imported) > layer(name) or
                                  layer(imported) == layer(name) != TOP and
                                  layer(name) != 0):
                wrong.append(f"{name} imports {imported}")
            if unit(imported) == "jobs" and not same_unit:
                wrong.append(f"{name} imports {imported}: nothing imports jobs")
    assert wrong == []


def test_the_checker_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from biorepro.jobs.run import produce\nimport biorepro.plan\n")
    assert imports(bad) == {"biorepro.jobs.run", "biorepro.plan"}
    assert layer("biorepro.plan") > layer("biorepro.jobs.run") > layer("biorepro.data.records")


def test_each_stage_has_one_name_everywhere():
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    for stage in NAMES:
        module = PACKAGE / "jobs" / f"{stage}.py"
        assert module.is_file(), f"no job module for stage {stage}"
        assert "def build(" in module.read_text()
        assert STAGES[stage].job_module == f"biorepro.jobs.{stage}"
    # one rule template makes every stage's rule, named as the stage, from its declaration
    assert re.search(r"^for _stage in STAGES:\n\n    rule:\n        name:\n            _stage\n",
                     rules, re.M)
    assert not re.search(rf"^rule ({'|'.join(NAMES)}):", rules, re.M)
    scripts = sorted(p.name for p in (REPO / "scripts").glob("*.py"))
    assert scripts == ["job.py", "verify_report.py", "view.py"]


def test_code_that_cannot_change_results_stays_out_of_keys():
    """Logging, publication and the job adapter are outside every stage's fingerprint,
    and hold no computation: they import no stage package."""
    for name in NOT_FINGERPRINTED:
        assert name in modules(), f"{name} is no module"
        reached = imports(modules()[name])
        # its imports are not followed: none may hold computation (left out too)
        assert not [m for m in reached if unit(m) in STAGE_PACKAGES
                    and m not in NOT_FINGERPRINTED], name
    for stage in NAMES:
        parts = dict(code_fingerprint(f"biorepro.jobs.{stage}").parts)
        assert f"biorepro.jobs.{stage}" in parts
        assert not set(parts) & set(NOT_FINGERPRINTED), stage


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_public_name_has_a_docstring(name):
    tree = ast.parse(modules()[name].read_text())
    missing = [] if ast.get_docstring(tree) else ["module"]

    def visit(node, prefix=""):
        for n in node.body:
            if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_"):
                if not ast.get_docstring(n):
                    missing.append(prefix + n.name)
                if isinstance(n, ast.ClassDef):
                    visit(n, n.name + ".")

    visit(tree)
    assert missing == []


def test_the_docs_table_of_stages_is_their_declaration():
    docs = (REPO / "docs" / "architecture.md").read_text()
    assert stages.table() in docs, "render it: python -c 'from biorepro.store import " \
                                   "stages; print(stages.table())'"


def test_the_cluster_profile_names_rules_that_exist():
    """The SLURM profile's per-rule resources (its commented examples included) name
    stages' rules or ``verify_seed``: a renamed rule would be silently left out."""
    text = (REPO / "profiles" / "slurm" / "config.yaml").read_text()
    uncommented = re.sub(r"^# (set-resources:|  .*)$", r"\1", text, flags=re.M)
    per_rule = yaml.safe_load(uncommented)["set-resources"]
    assert set(per_rule) <= {*NAMES, "verify_seed"}
    assert per_rule["train"]["gpu"] == 1
    rules = "\n".join(p.read_text() for p in (REPO / "rules").glob("*.smk"))
    assert "rule verify_seed:" in rules
