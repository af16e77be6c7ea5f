"""Multi-source experiments: benchmark cards over several databases, and the domain of
each sample.

A benchmark card (``biorepro/data/benchmarks/<name>.yaml``, documented in
``docs/protocols.md``) names its ``domains`` (a letter each: the database card and the
protocol it is read with), what each role of a leg takes of a domain's own splits
(``take: {train, devel, test}``: lists of the database's splits), and its ``protocols``,
each a set of ``legs``: ``{sources: [letters], target: letter}``. A leg is a fold of the
experiment: its train and devel sets are the union of its sources' (each sample keeping
its ``domain``), its test set the target's; a database's split that its role does not
take is left out (the target's devel set, say).

A leg's video ids and subjects are prefixed by their domain (``O--Train_files--1_1_01_1``,
``O:01``), so that two databases' names never meet; a database without a devel set is
read without carving one.
"""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

from biorepro.data import protocols
from biorepro.data.ingest import DatasetError
from biorepro.data.records import VideoRecord

BENCHMARKS = Path(__file__).resolve().parent / "benchmarks"
ROLES = ("train", "devel", "test")  # a leg's splits, each taken from sources or target


@functools.cache
def names() -> tuple[str, ...]:
    """The benchmarks that have a card, sorted."""
    return tuple(sorted(p.stem for p in BENCHMARKS.glob("*.yaml")))


@functools.cache
def load(name: str) -> dict:
    """The card of benchmark ``name``."""
    with open(BENCHMARKS / f"{name}.yaml", encoding="utf-8") as f:
        return yaml.safe_load(f)


def protocol_legs(card: dict, protocol: str | None) -> tuple[str, dict[str, dict]]:
    """``(protocol name, its legs)``; None: the card's default protocol."""
    name = protocol or card["default_protocol"]
    if name not in card["protocols"]:
        raise DatasetError(f"config key 'dataset.protocol': {card['title']} has no protocol "
                           f"{name!r}; its protocols: {', '.join(card['protocols'])}")
    return name, card["protocols"][name]["legs"]


def title(leg: dict) -> str:
    """A leg as the literature writes it: ``O&C&I→M``."""
    return f"{'&'.join(leg['sources'])}→{leg['target']}"


def domains_of(legs: dict[str, dict]) -> list[str]:
    """The domains ``legs`` read, in first-use order."""
    return list(dict.fromkeys(d for leg in legs.values() for d in (*leg["sources"],
                                                                    leg["target"])))


def leg_records(name: str, roots: dict[str, str], protocol: str | None,
                chosen: list[str] | None = None, *,
                extensions: list[str] | None = None) -> dict[str, list[VideoRecord]]:
    """The records of each leg of ``protocol`` of benchmark ``name`` (``chosen`` legs, or
    all), by leg; ``roots`` maps a domain letter to its database's folder (each domain's
    tree is read once)."""
    card = load(name)
    proto, legs = protocol_legs(card, protocol)
    for leg in chosen or []:
        if leg not in legs:
            raise DatasetError(f"config key 'dataset.folds': {proto} of {card['title']} has "
                               f"no leg {leg!r}; its legs: {', '.join(legs)}")
    legs = {leg: legs[leg] for leg in chosen or legs}
    missing = [d for d in domains_of(legs) if not roots.get(d)]
    if missing:
        raise DatasetError(
            f"config key 'dataset.roots': {card['title']} legs {', '.join(legs)} read "
            + ", ".join(f"{d} ({card['domains'][d]['database']})" for d in missing)
            + f"; give each its folder, e.g. dataset.roots.{missing[0]}: path/to/"
            + card["domains"][missing[0]]["database"])
    read = {d: _domain_records(card, d, roots[d], extensions) for d in domains_of(legs)}
    return {leg: [r for role in ROLES
                  for d in (spec["sources"] if role != "test" else [spec["target"]])
                  for r in _take(read[d], card["take"][role], role)]
            for leg, spec in legs.items()}


def _domain_records(card: dict, domain: str, root: str,
                    extensions: list[str] | None) -> list[VideoRecord]:
    """Every record of ``domain`` (its database read with its protocol, no devel carved),
    ids and subjects prefixed by the domain."""
    spec = card["domains"][domain]
    return with_domain(protocols.card_records(spec["database"], root, spec["protocol"],
                                              extensions=extensions, carve=False), domain)


def with_domain(records: list[VideoRecord], domain: str) -> list[VideoRecord]:
    """``records`` of source ``domain``: ids and subjects prefixed by it, ``domain`` set."""
    return [VideoRecord(f"{domain}--{r.video_id}", r.path, r.label, f"{domain}:{r.subject}",
                        r.split, r.attack_type, r.annotations, domain) for r in records]


def _take(records: list[VideoRecord], splits: list[str], role: str) -> list[VideoRecord]:
    """The records of ``splits``, moved to the leg's split ``role``."""
    return [VideoRecord(r.video_id, r.path, r.label, r.subject, role, r.attack_type,
                        r.annotations, r.domain) for r in records if r.split in splits]
