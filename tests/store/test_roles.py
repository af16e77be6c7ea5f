import pytest

from biorepro.store.roles import Run


@pytest.mark.parametrize("run, role, level, target", [
    (Run("all", 3), "all/3", False, False),
    (Run("all", 3, "video"), "all/3/video", True, False),
    (Run("1", "i1-o0-n0", "frame"), "1/i1-o0-n0/frame", True, False),
    (Run("P3/2", 0, "video"), "P3/2/0/video", True, False),  # a fold with a slash
    (Run("all", 7, "video", "casia"), "casia/all/7/video", True, True),
])
def test_roles_are_written_and_read_back(run, role, level, target):
    assert run.role == role
    assert Run.parse(role, level=level, target=target) == run


def test_run_and_order():
    assert Run("all", 3, "video").run == "all/3"
    runs = [Run("a", "i0-o1-n0"), Run("a", 10), Run("a", 2)]
    assert [r.label for r in sorted(runs, key=lambda r: r.order)] == [2, 10, "i0-o1-n0"]
