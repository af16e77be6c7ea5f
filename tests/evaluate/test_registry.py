"""The metric registry: every metric biorepro produces is declared, once."""

import math

import pytest

from biorepro.aggregate import sampling
from biorepro.evaluate import registry
from biorepro.evaluate.seed import evaluate
from biorepro.jobs.metrics import TRAIN_FIELDS
from tests.evaluate.test_seed import DEVEL, TEST

IDENTIFYING = {"level", "fusion", "criterion", "target", "threshold_from", "status",
               "best_epoch"}


def produced() -> set[str]:
    """Every metric name a run's metrics carry: evaluate() at both levels (default
    operating points) and the training fields."""
    names = set()
    for level in ("video", "frame"):
        names |= set(evaluate(DEVEL, TEST, level=level))
    return (names | set(TRAIN_FIELDS)) - IDENTIFYING


@pytest.mark.parametrize("name", sorted(produced()))
def test_every_produced_metric_is_declared(name):
    """A new metric added to evaluate() without a declaration fails here."""
    m = registry.metric(name)
    declared = name in {d.name for d in registry.METRICS} or any(
        p.fullmatch(name) for p, _ in registry.FAMILIES)
    assert declared and m.label != name, name


def test_rates_bounds_and_directions():
    rates = {n for n in produced() if registry.is_rate(n)}
    assert {"test_hter", "test_apcer_print", "test_acer", "devel_eer", "test_fta",
            "train_accuracy", "test_tpr_at_fpr_1pct", "devel_bpcer_at_apcer_5pct"} <= rates
    assert not rates & {"threshold", "test_auc", "test_f1", "test_n_attack", "epochs_trained"}
    for name in rates | {"test_auc", "test_f1"}:
        assert registry.metric(name).bounds == (0.0, 1.0), name
    assert registry.metric("epochs_trained").bounds == (0.0, math.inf)
    assert registry.metric("test_n_bonafide").bounds == (0.0, math.inf)
    assert registry.metric("threshold").bounds is None
    assert registry.metric("test_auc").lower_better is False
    assert registry.metric("test_tpr_at_fpr_1pct").lower_better is False
    assert registry.metric("test_apcer_print").label == "test APCER (print)"
    assert registry.metric("devel_bpcer_at_apcer_5pct").label == "devel BPCER at APCER 5%"


def test_an_unknown_name_is_a_plain_value():
    m = registry.metric("my_score")
    assert (m.label, m.rate, m.bounds, m.lower_better, m.unit) == ("my_score", False, None,
                                                                     None, "")


def test_roles():
    assert registry.with_role("headline")[:2] == ("test_hter", "test_apcer_ap")
    assert registry.PRIMARY in registry.with_role("headline")
    assert registry.SELECTION in registry.with_role("headline")
    for name in registry.with_role("compared"):
        assert registry.metric(name).lower_better is not None, name
    assert registry.ordered(["zeta", "test_auc", "test_hter", "alpha"]) == [
        "test_hter", "test_auc", "alpha", "zeta"]
    with pytest.raises(ValueError, match="unknown metric role"):
        registry.with_role("headlines")


def test_the_test_sampling_metrics_are_declared_rates():
    assert all(registry.is_rate(m) for m in sampling.METRICS)
