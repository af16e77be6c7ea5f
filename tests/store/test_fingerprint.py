import ast
import importlib
import importlib.metadata
import json
import os
import re
import shutil
import textwrap
import time

import pytest

from biorepro.store import fingerprint, hashing
from biorepro.store.stages import NAMES

RACY_NS = 50_000_000  # above the timestamp tick of local file systems; short for tests


def settle():
    """Wait until what was just written is old enough to be cached."""
    time.sleep(2 * RACY_NS / 1e9)


def clear_process_caches():
    for cached in (fingerprint._own_file, fingerprint._parse, fingerprint.code_fingerprint,
                   fingerprint._disk_cache, fingerprint._environment,
                   fingerprint._distributions_by_module):
        cached.cache_clear()


def fresh_fingerprint(*roots):
    """``code_fingerprint`` as a new process computes it (only the disk cache is kept)."""
    clear_process_caches()
    return fingerprint.code_fingerprint(*roots)


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    pkg = tmp_path / "biorepro"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(textwrap.dedent('''
        """Module a."""
        import numpy
        from biorepro import b
        def f():
            """Doc."""
            return b.g() + 1  # comment
    '''))
    (pkg / "b.py").write_text("import json\ndef g():\n    return 1\n")
    (pkg / "c.py").write_text("def h():\n    return 2\n")
    monkeypatch.setattr(fingerprint, "PACKAGE_DIR", pkg)
    monkeypatch.setattr(fingerprint, "CACHE", tmp_path / "cache" / "fingerprint.json")
    monkeypatch.setattr(hashing, "RACY_NS", RACY_NS)
    yield pkg
    clear_process_caches()


def modules(fp):
    return {name for name, _ in fp.parts}


def test_fingerprint_follows_imports_and_finds_packages(fake_package):
    fp = fresh_fingerprint("biorepro.a")
    assert modules(fp) == {"biorepro", "biorepro.a", "biorepro.b"}
    assert "numpy" in fp.versions()


def test_fingerprint_ignores_comments_and_docstrings_but_not_code(fake_package):
    before = fresh_fingerprint("biorepro.a").digest
    a = fake_package / "a.py"
    a.write_text(a.read_text().replace("# comment", "# other").replace('"""Doc."""', '"""New."""'))
    assert fresh_fingerprint("biorepro.a").digest == before
    (fake_package / "b.py").write_text("import json\ndef g():\n    return 2\n")  # imported module
    assert fresh_fingerprint("biorepro.a").digest != before
    (fake_package / "b.py").write_text("import json\ndef g():\n    return 1\n")
    (fake_package / "c.py").write_text("def h():\n    return 3\n")  # not imported: no change
    assert fresh_fingerprint("biorepro.a").digest == before


def test_modules_left_out_of_fingerprints_are_not_followed(fake_package, monkeypatch):
    monkeypatch.setattr(fingerprint, "NOT_FINGERPRINTED", {"biorepro.b": "for the test"})
    assert "biorepro.b" not in modules(fresh_fingerprint("biorepro.a"))


def test_a_later_process_reads_the_cache(fake_package, monkeypatch):
    settle()
    first = fresh_fingerprint("biorepro.a")

    def no_work(*args):
        raise AssertionError("computed again despite an unchanged cache")

    monkeypatch.setattr(fingerprint, "_parse_source", no_work)
    monkeypatch.setattr(importlib.metadata, "packages_distributions", no_work)
    assert fresh_fingerprint("biorepro.a") == first


def test_cached_digests_follow_every_edit(fake_package):
    settle()
    before = fresh_fingerprint("biorepro.a").digest
    b = fake_package / "b.py"
    stat = b.stat()
    b.write_text("import json\ndef g():\n    return 2\n")  # same size, other code
    os.utime(b, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    assert b.stat().st_size == stat.st_size
    changed = fresh_fingerprint("biorepro.a").digest
    assert changed != before
    settle()
    assert fresh_fingerprint("biorepro.a").digest == changed  # now from the cache
    b.write_text("import json\ndef g():\n    return 2\n# same size\n")  # a comment only
    assert fresh_fingerprint("biorepro.a").digest == changed


def test_files_changed_just_before_reading_are_not_cached(fake_package):
    settle()
    (fake_package / "b.py").write_text("import json\ndef g():\n    return 2\n")
    fresh_fingerprint("biorepro.a")
    cached = {key.split(":")[0] for key in json.loads(fingerprint.CACHE.read_text())["modules"]}
    assert cached == {"biorepro", "biorepro.a"}


def test_an_unreadable_cache_is_ignored(fake_package):
    settle()
    expected = fresh_fingerprint("biorepro.a")
    fingerprint.CACHE.write_text("{not json")
    assert fresh_fingerprint("biorepro.a") == expected


def install(site, dist, version, top_level):
    """A distribution's metadata folder, as an installer writes it."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{top_level}\n")
    importlib.invalidate_caches()
    return info


def test_versions_follow_installed_distributions(fake_package, tmp_path, monkeypatch):
    site = tmp_path / "site"
    old = install(site, "fake-dist", "1.0", "fakemod")  # module named unlike its distribution
    install(site, "other-dist", "3.0", "fakemod")       # a second distribution providing it
    monkeypatch.syspath_prepend(str(site))
    (fake_package / "d.py").write_text("import fakemod.sub\n")
    settle()
    assert fresh_fingerprint("biorepro.d").versions() == {"fake-dist": "1.0",
                                                          "other-dist": "3.0"}
    shutil.rmtree(old)  # an upgrade
    install(site, "fake-dist", "1.1", "fakemod")
    assert fresh_fingerprint("biorepro.d").versions() == {"fake-dist": "1.1",
                                                          "other-dist": "3.0"}
    settle()
    assert fresh_fingerprint("biorepro.d").versions()["fake-dist"] == "1.1"  # cached now
    metadata = site / "other_dist-3.0.dist-info" / "METADATA"
    metadata.write_text(metadata.read_text().replace("3.0", "3.1"))  # edited in place
    importlib.invalidate_caches()
    assert fresh_fingerprint("biorepro.d").versions() == {"fake-dist": "1.1",
                                                          "other-dist": "3.1"}


# What a stage's key holds of code: computation only (biorepro.store.fingerprint.computation).
TEXT_ONLY_EDITS = {
    "a log line's text": ('log(f"train: {n} seeds")', 'log(f"training {n} seeds now")'),
    "a new log line": ("x = n + 1\n", 'x = n + 1\n    log("starting")\n'),
    "a logger call": ("x = n + 1\n", 'x = n + 1\n    LOG.warning("%s is odd", n)\n'),
    "a console line": ("x = n + 1\n", 'x = n + 1\n    print("at", n, file=sys.stderr)\n'),
    "an error's message": ('raise ValueError(f"bad {n}")', 'raise ValueError(f"n={n} is bad")'),
    "a doc= description": ('File("a.csv", doc="old")', 'File("a.csv", doc="new words")'),
    "the version string": ('__version__ = "0.1.0"', '__version__ = "0.2.0"'),
}
COMPUTING_EDITS = {
    "an arithmetic constant": ("x = n + 1\n", "x = n + 2\n"),
    "an error's type": ('raise ValueError(f"bad {n}")', 'raise KeyError(f"bad {n}")'),
    "a file name": ('File("a.csv", doc="old")', 'File("b.csv", doc="old")'),
    "a print into a file": ('print(n, file=out)', 'print(n + 1, file=out)'),
    "a condition around a log": ("if n:\n        pass", "if not n:\n        pass"),
}
MODULE = '''
import sys
__version__ = "0.1.0"
def f(n, log, LOG, out, File):
    """Doc."""
    x = n + 1
    log(f"train: {n} seeds")
    print(n, file=out)
    File("a.csv", doc="old")
    if n:
        pass
    if x > 3:
        raise ValueError(f"bad {n}")
    return x
'''


def digest_of(tmp_path, source):
    path = tmp_path / "m.py"
    path.write_text(source)
    return fingerprint._parse_source(path, "biorepro.m", False)[0]


@pytest.mark.parametrize("edit", TEXT_ONLY_EDITS)
def test_text_for_people_is_not_in_the_code_ingredient(tmp_path, edit):
    old, new = TEXT_ONLY_EDITS[edit]
    assert old in MODULE
    assert digest_of(tmp_path, MODULE.replace(old, new)) == digest_of(tmp_path, MODULE)


@pytest.mark.parametrize("edit", COMPUTING_EDITS)
def test_what_computes_is_in_the_code_ingredient(tmp_path, edit):
    old, new = COMPUTING_EDITS[edit]
    assert old in MODULE
    assert digest_of(tmp_path, MODULE.replace(old, new)) != digest_of(tmp_path, MODULE)


STAGE_MODULES = [f"biorepro.jobs.{stage}" for stage in NAMES]


@pytest.mark.parametrize("module", STAGE_MODULES)
def test_each_stage_job_reruns_for_computation_only(module, tmp_path):
    """Per stage, on its real job module: rewording every log line and error message
    keeps its digest; changing any number it computes with does not."""
    source = fingerprint._own_file(module).read_text()
    digest = digest_of(tmp_path, source)
    reworded = re.sub(r'(\blog\(f?)"', r'\1"reworded: ', source)
    reworded = re.sub(r'(raise \w+\(f?)"', r'\1"reworded: ', reworded)
    assert reworded != source or "log(" not in source
    assert digest_of(tmp_path, reworded) == digest
    tree = ast.parse(source)
    numbers = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
               and type(n.value) in (int, float)]
    if numbers:
        numbers[0].value += 1
        assert digest_of(tmp_path, ast.unparse(tree)) != digest_of(tmp_path,
                                                                   ast.unparse(ast.parse(source)))
