import importlib
import importlib.metadata
import json
import os
import shutil
import textwrap
import time

import pytest

from biorepro.store import fingerprint, hashing

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
