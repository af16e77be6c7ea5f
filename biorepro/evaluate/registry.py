"""Every metric biorepro reports, declared once: its label, direction, range and unit, and
the tables and figures it appears in.

Statistics (the range a confidence interval is clipped to), comparisons (which way is
better), tables and figures (% or value, labels, order) all look a metric up here
(:func:`metric`). A name is looked up exactly (:data:`METRICS`, in display order), then
in the families whose names are built at run time (:data:`FAMILIES`: APCER per attack
type, counts per class, operating points); any other name (a paper's own metric, a
user's column) is a plain value: no unit, no range, no direction. Rates are fractions in
[0, 1], shown in % (:attr:`Metric.rate`).

Roles (:data:`ROLES`) say where a metric appears: ``headline`` (first in tables, the
report's landing table), ``figure`` (the metrics figure), ``cross`` and ``fold`` (the
cross-dataset and per-fold tables), ``compared`` (paired comparisons of experiments),
``variance`` (variance by source of randomness), ``demo`` (the README's table).
:data:`PRIMARY` is the one number an experiment is summarised by; :data:`SELECTION` the
devel metric a run is picked by.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace

ROLES = ("headline", "figure", "cross", "fold", "compared", "variance", "demo")
RATE = (0.0, 1.0)
COUNT = (0.0, math.inf)


@dataclass(frozen=True)
class Metric:
    """One metric: ``lower_better`` None when neither way is better (counts, thresholds);
    ``bounds`` None when unbounded; ``rate``: a fraction shown in %."""

    name: str
    label: str
    lower_better: bool | None = None
    bounds: tuple[float, float] | None = None
    rate: bool = False
    roles: frozenset[str] = frozenset()

    @property
    def unit(self) -> str:
        """``%`` for rates, else empty."""
        return "%" if self.rate else ""


def _rate(name: str, label: str, lower_better: bool = True, *roles: str) -> Metric:
    return Metric(name, label, lower_better, RATE, True, frozenset(roles))


_ALL = ("headline", "figure", "cross", "fold", "compared", "variance", "demo")
METRICS: tuple[Metric, ...] = (
    _rate("test_hter", "test HTER", True, *_ALL),
    _rate("test_apcer_ap", "test APCER (worst attack type)", True, *_ALL),
    _rate("test_bpcer", "test BPCER", True, *_ALL),
    _rate("test_acer", "test ACER", True, "headline", "figure", "fold", "compared",
          "variance", "demo"),
    Metric("test_auc", "test AUC", False, RATE, False,
           frozenset({"headline", "figure", "cross", "compared", "variance", "demo"})),
    _rate("devel_eer", "devel EER", True, *_ALL),
    _rate("test_accuracy", "test accuracy", False, "headline"),
    _rate("train_accuracy", "train accuracy", False, "headline", "variance", "demo"),
    Metric("epochs_trained", "epochs trained", None, COUNT, False, frozenset({"headline"})),
    _rate("devel_far", "devel FAR"),
    _rate("devel_frr", "devel FRR"),
    _rate("devel_hter", "devel HTER"),
    _rate("devel_fta", "devel FTA"),
    _rate("test_far", "test FAR"),
    _rate("test_frr", "test FRR"),
    _rate("test_fta", "test FTA"),
    _rate("test_apcer_pooled", "test APCER (attacks pooled)"),
    _rate("test_precision", "test precision", False),
    _rate("test_recall", "test recall", False),
    Metric("test_f1", "test F1", False, RATE),
    Metric("threshold", "threshold (score)"),
)
_BY_NAME = {m.name: m for m in METRICS}

# Families: (pattern, metric whose name and label are filled from the match's groups).
FAMILIES: tuple[tuple[re.Pattern, Metric], ...] = (
    (re.compile(r"(?P<split>devel|test)_n_(?P<cls>bonafide|attack)"),
     Metric("", "{split} {cls} samples", None, COUNT)),
    (re.compile(r"(?P<split>devel|test)_(?P<rate>apcer|bpcer)_at_(?P<kind>apcer|bpcer)_"
                r"(?P<pct>[0-9.e+-]+)pct"),
     _rate("", "{split} {rate} at {kind} {pct}%")),
    (re.compile(r"(?P<split>test)_tpr_at_fpr_(?P<pct>[0-9.e+-]+)pct"),
     _rate("", "{split} TPR at FPR {pct}%", False)),
    (re.compile(r"(?P<split>test)_apcer_(?P<type>.+)"),
     _rate("", "{split} APCER ({type})")),
)

PRIMARY = "test_hter"
SELECTION = "devel_eer"


def metric(name: str) -> Metric:
    """The declaration of ``name``: exact, then by family, else a plain value."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    for pattern, template in FAMILIES:
        found = pattern.fullmatch(name)
        if found:
            label = template.label.format(**{k: v.upper() if k in ("rate", "kind") else v
                                             for k, v in found.groupdict().items()})
            return replace(template, name=name, label=label)
    return Metric(name, name)


def with_role(role: str) -> tuple[str, ...]:
    """The metrics of ``role``, in display order."""
    if role not in ROLES:
        raise ValueError(f"unknown metric role {role!r} (one of {', '.join(ROLES)})")
    return tuple(m.name for m in METRICS if role in m.roles)


def is_rate(name: str) -> bool:
    """Whether ``name`` is a rate (a fraction shown in %)."""
    return metric(name).rate


def ordered(names) -> list[str]:
    """``names`` with the headline metrics first (in their order), then the rest sorted."""
    headline = with_role("headline")
    return [m for m in headline if m in names] + sorted(set(names) - set(headline))
