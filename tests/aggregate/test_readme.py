import pandas as pd
import pytest

from biorepro.aggregate import readme
from biorepro.evaluate import registry

HEADER = "| Metric | n | Mean |\n|:---|---:|---:|"


@pytest.fixture
def view(tmp_path):
    rows = "\n".join(f"| {m} | 3/3 | {i}% |" for i, m in
                     enumerate([*registry.with_role("demo"), "test_accuracy"]))
    (tmp_path / "summary_video.md").write_text(f"demo: metrics\n\n{HEADER}\n{rows}\n\nnote\n")
    pd.DataFrame({"metric": ["test_far", "test_hter"], "test_share": [0.1, 0.25],
                  "n_subjects": [8, 8]}).to_csv(tmp_path / "sampling_video.csv", index=False)
    pd.DataFrame({"seed": [0, 1, 2, 3], "status": ["ok", "ok", "ok", "diverged"],
                  "devel_eer": [0.2, 0.0104, 0.1, 0.0],
                  "test_hter": [0.05, 0.1875, 0.10, 0.5]}).to_csv(
        tmp_path / "per_seed_video.csv", index=False)
    return tmp_path


def test_blocks_are_written_from_the_results(view):
    text = "a\n<!-- demo:table -->\nold\n<!-- /demo:table -->\nb\n<!-- demo:why -->\nx\n" \
           "<!-- /demo:why -->\n"
    new = readme.update(text, view)
    assert "| test_accuracy" not in new and "| train_accuracy | 3/3 | 6% |" in new
    assert new.startswith(f"a\n<!-- demo:table -->\n{HEADER}\n| test_hter | 3/3 | 0% |")
    assert ("The test set's own sampling is 25% of the variance of the mean HTER (8 test "
            "subjects), so more seeds would narrow") in new
    assert "(seed 1, 1.04%) has the worst test HTER of the 3 (18.75%)" in new  # diverged out
    assert readme.update(new, view) == new


def test_check_fails_on_stale_numbers(view, tmp_path, capsys):
    path = tmp_path / "README.md"
    path.write_text("<!-- demo:table -->\nold\n<!-- /demo:table -->\n<!-- demo:why -->\n"
                    "x\n<!-- /demo:why -->\n")
    assert readme.main([str(view), str(path), "--check"]) == 1
    assert "its demo numbers differ" in capsys.readouterr().err
    assert readme.main([str(view), str(path)]) == 0
    assert readme.main([str(view), str(path), "--check"]) == 0


def test_a_readme_without_the_markers_is_refused(view):
    with pytest.raises(ValueError, match="demo:table"):
        readme.update("no markers", view)
