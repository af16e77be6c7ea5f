"""Benchmark cards: each leg's splits taken from stand-in trees of its four databases, with
their real names (tests/data/test_protocols.py)."""

import pytest

from biorepro.data import benchmarks, protocols
from biorepro.data.ingest import DatasetError
from tests.data.test_protocols import casia_tree, msu_tree, oulu_tree, replay_files


@pytest.fixture
def roots(tmp_path):
    return {"O": str(oulu_tree(tmp_path / "oulu", phones=(1,), sessions=(1,))),
            "C": str(casia_tree(tmp_path / "casia", folders=(("train", 2), ("test", 1)))),
            "I": str(replay_files(tmp_path / "replay")),
            "M": str(msu_tree(tmp_path / "msu"))}


def by_split(records):
    out = {}
    for r in records:
        out.setdefault(r.split, set()).add((r.domain, r.path))
    return out


def test_each_leg_trains_on_its_sources_and_tests_on_its_target(roots):
    legs = benchmarks.leg_records("ocim", roots, None)
    assert list(legs) == ["OCI-M", "OMI-C", "OCM-I", "ICM-O"]
    leg = by_split(legs["OCI-M"])
    assert {d for d, _ in leg["train"]} == {"O", "C", "I"}
    assert {d for d, _ in leg["devel"]} == {"O", "I"}  # only the given devel sets
    assert {d for d, _ in leg["test"]} == {"M"}
    paths = {s: {p for _, p in v} for s, v in leg.items()}
    # a source's train and test videos train, its devel videos are the leg's devel
    assert any("/Test_files/" in p for p in paths["train"])
    assert any("/test/" in p and "/replay/" in p for p in paths["train"])
    assert all("/Dev_files/" in p or "/devel/" in p for p in paths["devel"])
    assert not any("/Dev_files/" in p or "/devel/" in p for p in paths["train"])
    # no devel carved from CASIA-FASD: every one of its videos trains
    casia = {p for d, p in leg["train"] if d == "C"}
    assert len(casia) == 18
    # the target: every MSU-MFSD video (no devel set), train and test subjects alike
    assert len(paths["test"]) == 10
    # a target with a devel set is tested on its other videos only
    target_o = by_split(legs["ICM-O"])["test"]
    assert target_o and all("/Dev_files/" not in p for _, p in target_o)
    assert len(target_o) == 2 * 3  # users 1 and 36 (Train_files, Test_files), 3 files each


def test_ids_and_subjects_carry_their_domain(roots):
    records = benchmarks.leg_records("ocim", roots, "limited-source", ["MI-C"])["MI-C"]
    assert all(r.video_id.startswith(f"{r.domain}--") for r in records)
    assert all(r.subject.startswith(f"{r.domain}:") for r in records)
    assert len({r.video_id for r in records}) == len(records)
    assert {r.domain for r in records if r.split == "test"} == {"C"}


def test_a_missing_root_or_leg_is_named(roots):
    with pytest.raises(DatasetError, match=r"dataset.roots.*O \(oulu-npu\).*dataset.roots.O"):
        benchmarks.leg_records("ocim", {**roots, "O": ""}, None, ["OCI-M"])
    # a leg that does not read O needs no O folder
    assert benchmarks.leg_records("ocim", {"M": roots["M"], "I": roots["I"], "C": roots["C"]},
                                  "limited-source", ["MI-C"])
    with pytest.raises(DatasetError, match="no leg 'OCI-X'.*OCI-M, OMI-C"):
        benchmarks.leg_records("ocim", roots, None, ["OCI-X"])
    with pytest.raises(DatasetError, match="no protocol 'nope'.*leave-one-out, limited-source"):
        benchmarks.leg_records("ocim", roots, "nope")


def test_titles_are_the_literatures():
    card = benchmarks.load("ocim")
    _, legs = benchmarks.protocol_legs(card, None)
    assert [benchmarks.title(leg) for leg in legs.values()] == [
        "O&C&I→M", "O&M&I→C", "O&C&M→I", "I&C&M→O"]
    for domain in card["domains"].values():  # each domain names a card and its protocol
        assert domain["protocol"] in protocols.load_card(domain["database"])["protocols"]
