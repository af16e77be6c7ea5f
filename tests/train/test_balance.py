"""train.balance: which groups weigh the same in the loss, and that the order is unchanged."""

import numpy as np
import pandas as pd
import pytest

from biorepro.data.tensors import SplitTensors
from biorepro.train.fit import train_pipeline
from biorepro.train.input import balance_groups, balanced_weights

SEEDS = {"init": 0, "order": 3, "noise": 0, "replicate": 0}


def split(labels, domains):
    """A split of one frame per video: ``labels[i]`` (1 bona fide), ``domains[i]``."""
    n = len(labels)
    videos = pd.DataFrame({"video_id": [f"v{i}" for i in range(n)], "subject": "s",
                           "label": ["bonafide" if x else "attack" for x in labels],
                           "attack_type": "", "domain": domains})
    return SplitTensors(np.zeros((n, 2, 2, 3), np.uint8), np.asarray(labels, np.uint8),
                        np.arange(n, dtype=np.int32), np.zeros(n, np.int32), videos,
                        np.zeros((0, 2), np.int32))


# O: 6 frames (1 bona fide), I: 2 frames (1 bona fide)
DATA = split([1, 0, 0, 0, 0, 0, 1, 0], ["O"] * 6 + ["I"] * 2)


def total(weights, mask):
    return float(weights[np.asarray(mask)].sum())


@pytest.mark.parametrize("balance, groups", [
    ("label", [DATA.labels == 1, DATA.labels == 0]),
    ("domain", [DATA.videos["domain"] == "O", DATA.videos["domain"] == "I"]),
    ("label×domain", [(DATA.labels == lb) & (DATA.videos["domain"] == d)
                      for lb in (0, 1) for d in ("O", "I")]),
])
def test_every_group_weighs_the_same_and_the_mean_weight_is_one(balance, groups):
    w = balanced_weights(balance_groups(DATA, balance))
    assert w.mean() == pytest.approx(1.0)
    totals = [total(w, g) for g in groups]
    assert totals == pytest.approx([len(w) / len(groups)] * len(groups))


def test_label_balance_is_the_class_weighting_of_before():
    labels = np.array([1, 0, 0, 0], np.uint8)  # n / (2 n_c)
    np.testing.assert_allclose(balanced_weights(labels), [2.0, 2 / 3, 2 / 3, 2 / 3])


def test_none_gives_no_weights_and_balance_never_changes_the_order():
    assert balance_groups(DATA, "none") is None
    batches = {b: train_pipeline(DATA, 3, SEEDS, epochs=2, balance=b)
               for b in ("none", "label", "domain", "label×domain")}
    assert len(batches["none"][0]) == 2  # (images, labels): no weights
    orders = {b: [ds.order(e).tolist() for e in range(2)] for b, ds in batches.items()}
    assert len({str(o) for o in orders.values()}) == 1
