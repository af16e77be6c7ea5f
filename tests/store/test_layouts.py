from biorepro.store.entries import check_entry, entry_path, staging, write_provenance
from biorepro.store.keys import derive_key
from biorepro.store.layouts import FRAMES, SPLIT, SUMMARY, TRAIN, File, Layout
from biorepro.store.stages import STAGES


def test_a_file_is_named_by_its_fields_and_recognised_by_its_pattern():
    assert TRAIN.scores(split="test") == "scores_test.csv"
    assert FRAMES.image(index=7) == "frames/00007.png"
    assert SUMMARY.table.stem(level="video") == "summary_video"
    assert SPLIT.image.matches(SPLIT.image(split="train", label="attack", video_id="a--b",
                                           frame=3))
    assert not FRAMES.image.matches("frames/sub/00001.png")  # one folder deep, no more
    assert TRAIN.role("scores_devel.csv") == "scores" and TRAIN.role("notes.txt") is None


def test_problems_name_undeclared_and_missing_files():
    layout = Layout("toy", data=File("data.json", "JSON"), extra=File("x_{n}.csv", "CSV",
                                                                      required=False))
    assert layout.problems(["data.json", "x_1.csv", "x_2.csv"]) == []
    assert layout.problems(["x_1.csv", "notes.txt"]) == [
        "notes.txt is no file of a toy entry", "it has no data.json (JSON)"]


def test_every_stage_has_a_layout_whose_roles_are_distinct():
    assert list(STAGES) == ["frames", "split", "tensors", "train", "cross", "metrics", "summary",
                            "compare"]
    for name, stage in STAGES.items():
        assert stage.layout.stage == name
        patterns = [f.pattern for f in stage.layout.files.values()]
        assert len(set(patterns)) == len(patterns), name


def test_check_entry_holds_an_entry_to_its_stage_layout(tmp_path):
    ingredients = {"stage": "train", "params": {}}
    final = entry_path(tmp_path, "train", derive_key(ingredients))
    with staging(final) as tmp:
        for name in (TRAIN.architecture(), TRAIN.weights(), TRAIN.history(),
                     TRAIN.scores(split="devel"), "notes.txt"):
            (tmp / name).write_text("x")
        write_provenance(tmp, ingredients)
    problems = check_entry(str(final), deep=False).problems
    assert "notes.txt is no file of a train entry" in problems
    assert any(p.startswith("it has no result.json") for p in problems)


def test_a_family_declared_per_split_needs_each_split():
    files = [TRAIN.architecture(), TRAIN.weights(), TRAIN.history(), TRAIN.result(),
             TRAIN.scores(split="devel")]
    assert TRAIN.problems(files) == ["it has no scores_test.csv (CSV: video_id, subject, "
                                     "label, attack_type, frame, score (probability of bona "
                                     "fide))"]
    assert TRAIN.problems([*files, TRAIN.scores(split="test")]) == []


def test_the_layouts_splits_are_the_datasets():
    from biorepro.data.records import SPLITS
    from biorepro.store import layouts

    assert layouts.SPLITS == SPLITS


def test_every_stage_has_a_layout_and_its_keys_take_its_own_only(monkeypatch):
    from biorepro import plan
    from biorepro.store import layouts, stages

    assert set(stages.NAMES) == set(layouts.LAYOUTS)
    before = {s: plan.stage_code(s)["code"] for s in stages.NAMES}
    assert all(before[s]["parts"][plan.LAYOUT_PART] for s in stages.NAMES)
    more = Layout("train", **TRAIN.files, extra=File("extra.npy", doc="a new file"))
    monkeypatch.setitem(layouts.LAYOUTS, "train", more)
    plan._layout_digest.cache_clear()
    try:
        after = {s: plan.stage_code(s)["code"] for s in stages.NAMES}
    finally:
        plan._layout_digest.cache_clear()
    assert [s for s in stages.NAMES if after[s] != before[s]] == ["train"]
    reworded = Layout("train", **{**TRAIN.files, "history": File(
        TRAIN.history.pattern, doc="other words")})
    assert reworded.identity() == TRAIN.identity()
