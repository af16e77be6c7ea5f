import os

import pytest

from biorepro.store.entries import staging, write_provenance
from biorepro.store.view import publish_view


def make_entry(path, text):
    with staging(path) as tmp:
        (tmp / "summary.md").write_text(text)
        (tmp / "figures").mkdir()
        (tmp / "figures" / "a.svg").write_text("<svg/>")
        write_provenance(tmp, {})
    return path


def test_view_copies_entry_files_and_follows_reverts(tmp_path):
    a = make_entry(tmp_path / "store" / "summary" / "aaa", "A")
    b = make_entry(tmp_path / "store" / "summary" / "bbb", "B")
    view = tmp_path / "results" / "demo"
    publish_view(a, view)
    assert (view / "summary.md").read_text() == "A"
    assert os.stat(view / "summary.md").st_ino != os.stat(a / "summary.md").st_ino
    (view / "summary.md").write_text("edited in the view")  # a user edits the view
    assert (a / "summary.md").read_text() == "A"  # the store is untouched
    assert (view / "figures" / "a.svg").is_file()
    publish_view(b, view)
    assert (view / "summary.md").read_text() == "B"
    publish_view(a, view)  # revert: the view shows the old entry again
    assert (view / "summary.md").read_text() == "A"
    assert str(a.resolve()) in (view / "STORE_ENTRY").read_text()
    assert sorted(p.name for p in view.parent.iterdir()) == ["demo"]


def test_view_of_missing_entry_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not in the store"):
        publish_view(tmp_path / "nope", tmp_path / "results" / "x")
