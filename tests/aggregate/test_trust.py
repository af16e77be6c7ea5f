"""Warnings where numbers cannot be trusted: each rule fires at its threshold, not below."""

import pandas as pd

from biorepro.aggregate import trust


def split_table(subjects: dict[str, tuple[int, int]], bonafide_share=None) -> pd.DataFrame:
    """One video per subject and class: split -> (bona fide subjects, attack subjects)."""
    rows = []
    for split, (bona, attack) in subjects.items():
        rows += [{"split": split, "label": "bonafide", "subject": f"{split}{i}",
                  "video_id": f"{split}/b{i}"} for i in range(bona)]
        rows += [{"split": split, "label": "attack", "subject": f"{split}{i}",
                  "video_id": f"{split}/a{i}"} for i in range(attack)]
    return pd.DataFrame(rows)


NO_BAD = pd.DataFrame(columns=["video_id", "split", "label", "reason"])


def rules(cautions) -> list[str]:
    return [c.rule for c in cautions]


def test_few_test_subjects_make_the_test_share_not_estimable():
    ok = split_table({"train": (5, 5), "devel": (3, 3), "test": (3, 3)})
    assert trust.data_warnings(ok, NO_BAD) == [] and trust.test_sampling_estimable(ok)
    one = split_table({"train": (5, 5), "devel": (3, 3), "test": (1, 3)})
    [c] = trust.data_warnings(one, NO_BAD)
    assert c.rule == "few_subjects" and "test set has 1 bonafide" in c.found
    assert "not estimable" in c.advice and not trust.test_sampling_estimable(one)
    devel = split_table({"train": (5, 5), "devel": (2, 5), "test": (3, 3)})
    assert "devel set" in trust.data_warnings(devel, NO_BAD)[0].found


def test_class_balance_differing_by_more_than_the_factor():
    table = split_table({"train": (2, 8), "devel": (5, 5), "test": (5, 5)})  # 20% vs 50%
    assert rules(trust.data_warnings(table, NO_BAD)) == ["class_balance"]
    table = split_table({"train": (3, 7), "devel": (5, 5), "test": (5, 5)})  # 30% vs 50%
    assert trust.data_warnings(table, NO_BAD) == []


def test_left_out_videos_are_counted_by_reason():
    table = split_table({"train": (5, 5), "devel": (3, 3), "test": (3, 3)})
    bad = pd.DataFrame({"video_id": ["a", "b", "c"], "split": "test", "label": "attack",
                        "reason": ["truncated", "truncated", "unreadable"]})
    [c] = trust.data_warnings(table, bad)
    assert c.rule == "bad_videos" and "2 × truncated; 1 × unreadable" in c.found


def runs(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    return pd.DataFrame({"status": ["ok"] * n, **columns})


def test_every_run_at_chance_and_not_only_some():
    chance = runs(train_accuracy=[0.5, 0.55], devel_eer=[0.5, 0.75], test_hter=[0.45, 0.5])
    [c] = trust.run_warnings(chance, "video")
    assert c.rule == "chance" and "train accuracy ≤ 60%" in c.found
    assert "devel EER ≥ 40%" in c.found and "test HTER ≥ 40%" in c.found
    one_learns = runs(train_accuracy=[0.5, 0.9], devel_eer=[0.5, 0.1], test_hter=[0.45, 0.1])
    assert trust.run_warnings(one_learns, "video") == []


def test_overfitting_is_the_median_gap_above_the_threshold():
    over = runs(train_accuracy=[0.99, 0.98, 0.97], devel_eer=[0.3, 0.35, 0.1],
                test_hter=[0.3, 0.3, 0.1])
    assert rules(trust.run_warnings(over, "frame")) == ["overfitting"]
    fine = runs(train_accuracy=[0.99, 0.98, 0.97], devel_eer=[0.1, 0.35, 0.1],
                test_hter=[0.1, 0.3, 0.1])
    assert trust.run_warnings(fine, "frame") == []


def test_warnings_are_read_back_from_their_summary_section(tmp_path):
    c = trust.Caution("chance", "every run at chance", "Check the labels")
    md = tmp_path / "summary.md"
    md.write_text("\n".join(["# Experiment", "", *trust.section([c]), "## Frame level",
                             "- **Spread**: not a warning"]))
    assert trust.read(md) == ["chance: every run at chance. Check the labels"]
    md.write_text("# Experiment\n\n## Frame level\n- **Spread**: x\n")
    assert trust.read(md) == [] and trust.read(tmp_path / "none.md") == []
