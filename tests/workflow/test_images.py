"""A still-image database end to end, with a real snakemake run on a stand-in CelebA-Spoof
tree (its real layout, label files and face boxes; JPEG images made by OpenCV): each
image is one sample, cropped by its box, and trains and tests as a video does."""

import json
import zlib

import cv2
import numpy as np
import pandas as pd
import yaml

from tests.data.test_protocols import celeba_tree
from tests.workflow.smk import make_workdir, snakemake

SUBJECTS = [("train", str(1000 + i)) for i in range(1, 9)] + [("test", "9001"), ("test", "9002")]


def jpeg(path, data: bytes):
    """A 96×64 JPEG whose noise is seeded by ``data``; its face box's square (the
    ``_BB.txt`` of the stand-in tree: the middle half of the image) is brighter for live
    images, so that a model can learn."""
    rng = np.random.default_rng(zlib.crc32(data))
    pixels = rng.integers(0, 80, (64, 96, 3)).astype(np.uint8)
    if b"/live/" in data:
        pixels[16:48, 24:72] += 120
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels)


def test_celeba_spoof_trains_on_its_images_cropped_by_their_boxes(tmp_path_factory):
    work = make_workdir(tmp_path_factory.mktemp("images"))
    celeba_tree(work / "celeba", SUBJECTS, write=jpeg)
    conf = {"experiment": "celeba", "seeds": [0, 1],
            "dataset": {"kind": "celeba-spoof", "root": "celeba", "split_seed": 1},
            "extract": {"crop": "annotations", "size": 32, "face_scale": 1.0},
            "train": {"epochs": 2, "score_every": 1}}
    (work / "celeba.yaml").write_text(yaml.safe_dump(conf))
    snakemake(work, configfiles=("config/tiny.yaml", "celeba.yaml"), generate=False)
    store = work / ".biorepro" / "store"
    metas = [json.loads((e / "frames.json").read_text()) for e in (store / "frames").iterdir()]
    assert len(metas) == 40 and all(m["frame_indices"] == [0] and not m["bad"] for m in metas)
    assert all(m["faces_missed"] == 0 and (m["width"], m["height"]) == (96, 64) for m in metas)
    split = pd.read_csv(work / "results/celeba/split.csv", keep_default_na=False)
    assert (split["frame"] == 0).all() and len(split) == 40
    test = split[split["split"] == "test"]
    assert set(test["video_id"].str.split("--").str[2]) == {"9001", "9002"}
    assert set(split.loc[split["label"] == "attack", "attack_type"]) == {"photo", "phone"}
    devel = set(split.loc[split["split"] == "devel", "video_id"].str.split("--").str[2])
    assert len(devel) == 1 and devel < {s for f, s in SUBJECTS if f == "train"}
    image = cv2.imread(str(next((store / "frames").glob("*/frames/00000.png"))))
    assert image.shape == (32, 32, 3)
    per_seed = pd.read_csv(work / "results/celeba/per_seed_frame.csv")
    assert len(per_seed) == 2 and (per_seed["status"] == "ok").all()
    assert (work / "results/celeba/selection_frame.md").is_file()
