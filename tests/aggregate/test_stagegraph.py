from dataclasses import dataclass, field

from biorepro.aggregate.stagegraph import draw_stage_graph, stage_graph
from biorepro.store.view import report_section


@dataclass
class E:
    stage: str
    upstream: list = field(default_factory=list)


def test_the_graph_counts_entries_per_stage_with_edges_in_data_flow_order():
    frames = [E("frames") for _ in range(3)]
    split = E("split", frames)
    tensors = E("tensors", [split])
    train = [E("train", [tensors]) for _ in range(2)]
    metrics = [E("metrics", [t, split]) for t in train]
    summary = E("summary", [*metrics, split])
    graph = stage_graph([summary, *metrics, *train, tensors, split, *frames])
    assert graph["stages"] == {"frames": 3, "split": 1, "tensors": 1, "train": 2,
                               "metrics": 2, "summary": 1}
    assert graph["edges"] == [["frames", "split"], ["split", "tensors"], ["split", "metrics"],
                              ["split", "summary"], ["tensors", "train"],
                              ["train", "metrics"], ["metrics", "summary"]]


def test_the_drawing_names_every_stage_and_its_count(tmp_path):
    graph = {"stages": {"frames": 46, "split": 1, "train": 5},
             "edges": [["frames", "split"], ["split", "train"]]}
    draw_stage_graph(graph, tmp_path / "g.svg")
    svg = (tmp_path / "g.svg").read_text()
    for text in ("frames", "46 entries", "1 entry", "5 entries"):
        assert text in svg


def test_report_sections():
    assert report_section({"figure": "det_video", "view": "x"}) == "figures"
    assert report_section({"page": "why"}) == "why do results change?"
    assert report_section({"graph": "stages"}) == "workflow"
    assert report_section({"table": "per_seed_video"}) == "per-seed tables"
    assert report_section({"table": "summary_frame"}) == "summary"
    assert report_section({"table": "bad_videos"}) == "data"
    assert report_section({"table": "comparison_video"}) == "comparisons"
