import textwrap

import pytest

from biorepro.store import fingerprint


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
    fingerprint._parse.cache_clear()
    fingerprint.code_fingerprint.cache_clear()
    yield pkg
    fingerprint._parse.cache_clear()
    fingerprint.code_fingerprint.cache_clear()


def _fp(*roots):
    fingerprint._parse.cache_clear()
    fingerprint.code_fingerprint.cache_clear()
    return fingerprint.code_fingerprint(*roots)


def modules(fp):
    return {name for name, _ in fp.parts}


def test_fingerprint_follows_imports_and_finds_packages(fake_package):
    fp = _fp("biorepro.a")
    assert modules(fp) == {"biorepro", "biorepro.a", "biorepro.b"}
    assert "numpy" in fp.versions()


def test_fingerprint_ignores_comments_and_docstrings_but_not_code(fake_package):
    before = _fp("biorepro.a").digest
    a = fake_package / "a.py"
    a.write_text(a.read_text().replace("# comment", "# other").replace('"""Doc."""', '"""New."""'))
    assert _fp("biorepro.a").digest == before
    (fake_package / "b.py").write_text("import json\ndef g():\n    return 2\n")  # imported module
    assert _fp("biorepro.a").digest != before
    (fake_package / "b.py").write_text("import json\ndef g():\n    return 1\n")
    (fake_package / "c.py").write_text("def h():\n    return 3\n")  # not imported: no change
    assert _fp("biorepro.a").digest == before


def test_fingerprint_of_script_root(fake_package, tmp_path):
    script = tmp_path / "job.py"
    script.write_text("from biorepro.a import f\nf()\n")
    fp = _fp(str(script))
    assert "biorepro.b" in modules(fp)
    script.write_text("from biorepro.a import f\nf()\nf()\n")
    assert _fp(str(script)).digest != fp.digest
