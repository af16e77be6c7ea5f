"""Protocol cards: each supported database and its protocols, declared in a data file.

A card (``biorepro/data/cards/<database>.yaml``, documented in ``docs/protocols.md``)
states how the database's layout maps to records, and what its literature reports:

- ``files``: patterns (regular expressions, matched in full against a video's path
  relative to the root, ``/``-separated, without its extension), tried in order. A
  pattern's named groups are the video's attributes; ``label`` is ``bonafide`` or
  ``attack``; ``subject`` and ``attack_type`` are templates over the attributes
  (``"{instrument}"``) or ``{field, map}`` look-ups. A video that matches no pattern is
  an error naming it; ``ignore`` patterns skip files (e.g. Replay-Attack's ``enroll/``).
- ``split``: where a video's split comes from: ``{field, map}`` (a path attribute) or,
  for protocols with ``lists``, the protocol's list files (``Protocols/`` of
  OULU-NPU): ``lists: {train: <path template>, ...}`` with ``{fold}`` in the paths,
  ``list_key`` (the template over the attributes that the list's names match) and
  ``list_format`` (``{separator, name_column}``; columns counted from 0).
- ``subject_lists``: ``{split: file}`` of subject ids, one per line (MSU-MFSD).
- ``labels``: JSON label files (CelebA-Spoof's ``metas/``): ``files`` (paths under the
  root), each a mapping of a file's path relative to the root (with its extension) to a
  label vector; ``fields: {attribute: index}`` adds those vector entries to the file's
  attributes (a file no label file lists is an error naming it); ``agree: {field, map}``
  requires that attribute to give the label the file's pattern gives.
- ``devel``: ``given`` (the database has a devel set) or ``carve`` (it has not: devel
  is carved from train, subject-disjoint, ``devel_fraction`` of the train subjects
  ranked by a hash of ``(dataset.split_seed, subject)``, as
  :mod:`biorepro.data.splitting` does).
- ``protocols``: name → ``{attacks: {attribute: [values]}, videos: {...}, lists,
  folds}``: ``attacks`` keeps the attacks whose attributes take those values (bona fide
  videos are kept), ``videos`` filters every video, ``folds`` lists fold names (a
  protocol without folds has the single fold :data:`SINGLE_FOLD`).
- ``annotations``: ``{path: <template>, format}``, the face-location file of a video
  (``{relpath}``: its relative path without extension), used when it exists; ``format``:
  how it is read (:data:`biorepro.data.faces.ANNOTATION_FORMATS`, default ``frames``).
- ``threshold``, ``report``, ``sources``: what the literature does, and where each fact
  comes from (shown in ``docs/protocols.md``; not used in computations).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
from pathlib import Path

import yaml

from biorepro.data.ingest import DatasetError, video_id, videos
from biorepro.data.records import SPLITS, VideoRecord

CARDS = Path(__file__).resolve().parent / "cards"
SINGLE_FOLD = "all"  # the fold of a protocol that has no folds


@functools.cache
def card_names() -> tuple[str, ...]:
    """The databases that have a card, sorted."""
    return tuple(sorted(p.stem for p in CARDS.glob("*.yaml")))


@functools.cache
def load_card(name: str) -> dict:
    """The card of database ``name`` (cached: callers must not modify it)."""
    if name not in card_names():
        raise DatasetError(f"config key 'dataset.kind': no protocol card for {name!r}; "
                           f"cards: {', '.join(card_names())}")
    card = yaml.safe_load((CARDS / f"{name}.yaml").read_text())
    card["_patterns"] = [(re.compile(f["pattern"]), f) for f in card["files"]]
    card["_ignore"] = [re.compile(p) for p in card.get("ignore", [])]
    return card


def annotation_format(name: str | None) -> str:
    """How the annotation files of database ``name`` are read (its card's
    ``annotations.format``; ``frames`` without one, or for a dataset without card)."""
    return (load_card(name).get("annotations") or {}).get("format", "frames") if name \
        else "frames"


def protocol_spec(card: dict, protocol: str | None) -> tuple[str, dict]:
    """``(name, spec)`` of ``protocol`` (``None``: the card's default)."""
    name = protocol or card["default_protocol"]
    if name not in card["protocols"]:
        raise DatasetError(f"config key 'dataset.protocol': {card['name']} has no protocol "
                           f"{name!r}; its protocols: {', '.join(card['protocols'])}")
    return name, card["protocols"][name]


def folds(card: dict, protocol: str | None) -> list[str]:
    """The fold names of ``protocol`` (``[SINGLE_FOLD]`` when it has none)."""
    spec = protocol_spec(card, protocol)[1]
    return [str(f) for f in spec.get("folds", [])] or [SINGLE_FOLD]


def _value(rule, attrs: dict, path: Path, what: str) -> str:
    """A template (``"{a}_{b}"``) or ``{field, map}`` look-up over ``attrs``."""
    if isinstance(rule, str):
        return rule.format(**attrs)
    value = attrs[rule["field"]]
    if value not in rule["map"]:
        raise DatasetError(f"{path}: {what} {rule['field']}={value!r} is not one of "
                           f"{', '.join(map(str, rule['map']))}")
    return rule["map"][value]


def _parse(card: dict, path: str, root: str) -> tuple[str, dict, dict] | None:
    """``(relative path, attributes, matching file rule)``; None for an ignored file
    (``path`` is under ``root``, which ends with a separator)."""
    rel = os.path.splitext(path[len(root):])[0].replace(os.sep, "/")
    if any(p.fullmatch(rel) for p in card["_ignore"]):
        return None
    for pattern, rule in card["_patterns"]:
        m = pattern.fullmatch(rel)
        if m:
            return rel, {k: v for k, v in m.groupdict().items() if v is not None}, rule
    raise DatasetError(f"{path}: its name does not follow the {card['title']} layout; "
                       "expected one of:\n  "
                       + "\n  ".join(f["pattern"] for f in card["files"]))


def _keep(spec: dict, label: str, attrs: dict) -> bool:
    filters = [spec.get("videos", {})] + ([spec.get("attacks", {})] if label == "attack" else [])
    return all(str(attrs.get(k)) in map(str, v) for f in filters for k, v in f.items())


def _read_list(root: Path, template: str, fold: str, fmt: dict) -> list[tuple[str, int]]:
    """``(name, line number)`` of every non-empty line of a protocol list file."""
    path = root / template.format(fold=fold)
    if not path.is_file():
        raise DatasetError(f"protocol list {path} does not exist (dataset.root must be the "
                           "database's top folder, with its protocol lists)")
    sep, col = fmt.get("separator"), fmt.get("name_column", 0)
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            fields = line.strip().split(sep)
            if len(fields) <= col:
                raise DatasetError(f"{path}, line {n}: expected a name in column {col}, "
                                   f"got {line.strip()!r}")
            out.append((fields[col].strip(), n))
    return out


def _subject_lists(card: dict, root: Path) -> dict[str, str]:
    """Subject id → split, from the card's ``subject_lists`` files."""
    split_of = {}
    for split, name in card.get("subject_lists", {}).items():
        path = root / name
        if not path.is_file():
            raise DatasetError(f"subject list {path} does not exist (dataset.root must be "
                               f"the {card['title']} top folder)")
        for line in path.read_text().split():
            split_of[str(int(line)) if line.isdigit() else line] = split
    return split_of


def _label_vectors(card: dict, root: Path) -> dict[str, list] | None:
    """Every label vector of the card's ``labels`` files, by file path (None: no labels)."""
    spec = card.get("labels")
    if spec is None:
        return None
    vectors: dict[str, list] = {}
    for name in spec["files"]:
        path = root / name
        try:
            vectors.update(json.loads(path.read_text()))
        except FileNotFoundError:
            raise DatasetError(f"label file {path} does not exist (dataset.root must be the "
                               f"{card['title']} top folder, with its {name})") from None
        except (OSError, ValueError) as err:
            raise DatasetError(f"label file {path}: cannot be read as JSON ({err})") from None
    return vectors


def _label_attributes(card: dict, vectors: dict[str, list], path: str, prefix: str,
                      label: str) -> dict[str, str]:
    """The attributes the label files give the file ``path`` (see ``labels``)."""
    spec, rel = card["labels"], path[len(prefix):].replace(os.sep, "/")
    vector = vectors.get(rel)
    if vector is None:
        raise DatasetError(f"{path}: not listed in the label files "
                           f"({', '.join(spec['files'])}); is dataset.root the "
                           f"{card['title']} top folder?")
    try:
        attrs = {name: str(vector[i]) for name, i in spec["fields"].items()}
    except (IndexError, TypeError):
        raise DatasetError(f"{path}: its label vector {vector!r} has no entries "
                           f"{sorted(spec['fields'].values())}") from None
    agree = spec.get("agree")
    if agree and agree["map"].get(value := attrs[agree["field"]]) != label:
        raise DatasetError(f"{path}: the label files give {agree['field']}={value} "
                           f"({agree['map'].get(value, 'no label')}), but its folder says "
                           f"{label}")
    return attrs


def _carve_devel(records: list[dict], fraction: float, seed: int) -> None:
    """Move ``fraction`` of the train subjects (at least one), ranked by a hash of
    ``(seed, subject)``, to devel."""
    subjects = sorted({r["subject"] for r in records if r["split"] == "train"},
                      key=lambda s: hashlib.sha256(f"{seed}:{s}".encode()).hexdigest())
    moved = set(subjects[:max(1, round(fraction * len(subjects)))]) if len(subjects) > 1 else set()
    for r in records:
        if r["split"] == "train" and r["subject"] in moved:
            r["split"] = "devel"


def card_records(name: str, root: str | Path, protocol: str | None, fold: str = SINGLE_FOLD,
                 *, split_seed: int = 0, extensions: list[str] | None = None,
                 carve: bool = True) -> list[VideoRecord]:
    """The records of ``fold`` of ``protocol`` of database ``name`` under ``root``
    (``carve``: see :func:`card_folds`)."""
    return card_folds(name, root, protocol, [fold], split_seed=split_seed,
                      extensions=extensions, carve=carve)[fold]


def card_folds(name: str, root: str | Path, protocol: str | None, fold_names: list[str],
               *, split_seed: int = 0, extensions: list[str] | None = None,
               carve: bool = True) -> dict[str, list[VideoRecord]]:
    """The records of each of ``fold_names`` of ``protocol`` of database ``name`` under
    ``root``, by fold (the tree is read and its names parsed once for all folds);
    ``carve=False`` leaves a database without a devel set without one (its train and
    test splits only, as domain-generalization benchmarks read it)."""
    card, root = load_card(name), Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset.root ({card['title']}): folder {root} does not exist")
    proto, spec = protocol_spec(card, protocol)
    for fold in fold_names:
        if fold not in folds(card, proto):
            raise DatasetError(f"config key 'dataset.folds': {proto} of {card['title']} has "
                               f"no fold {fold!r}; its folds: {', '.join(folds(card, proto))}")
    subject_split = _subject_lists(card, root)
    prefix = os.path.join(os.fspath(root), "")
    ann = card.get("annotations")
    vectors = _label_vectors(card, root)
    found = []
    for path in videos(root, extensions or card["extensions"]):
        parsed = _parse(card, os.fspath(path), prefix)
        if parsed is None:
            continue
        rel, attrs, rule = parsed
        label = rule["label"]
        if vectors is not None:
            attrs.update(_label_attributes(card, vectors, os.fspath(path), prefix, label))
        if not _keep(spec, label, attrs):
            continue
        subject = _value(card["subject"], attrs, path, "subject")
        split = (_value(card["split"], attrs, path, "split") if "split" in card
                 else subject_split.get(subject.lstrip("0") or "0", ""))
        found.append({"path": path, "id": video_id(path, root), "attrs": attrs,
                      "label": label, "subject": subject, "split": split,
                      "attack_type": _value(rule["attack_type"], attrs, path, "attack type")
                      if label == "attack" else "", "annotations": _annotation(root, ann, rel)})
    if not found:
        raise DatasetError(f"no {card['title']} videos with extensions "
                           f"{extensions or card['extensions']} found under {root}")
    return {fold: _fold_records(card, spec, root, fold, found, split_seed, carve)
            for fold in fold_names}


def _fold_records(card: dict, spec: dict, root: Path, fold: str, found: list[dict],
                  split_seed: int, carve: bool) -> list[VideoRecord]:
    """The records of ``fold``: the videos its lists name, with the lists' splits, or
    every video found with its split (devel carved when the card says so)."""
    if "lists" in spec:
        found = _apply_lists(card, spec, root, fold, found)
    elif carve and card.get("devel", "given") == "carve":
        found = [dict(r) for r in found]
        _carve_devel(found, card["devel_fraction"], split_seed)
    unassigned = [r["path"] for r in found if r["split"] not in SPLITS]
    if unassigned:
        raise DatasetError(f"{unassigned[0]}: no split for this video in {card['title']} "
                           f"({len(unassigned)} such videos); check the subject lists")
    return [VideoRecord(r["id"], str(r["path"]), r["label"], r["subject"], r["split"],
                        r["attack_type"], r["annotations"]) for r in found]


def _annotation(root: Path, ann: dict | None, rel: str) -> str:
    if not ann:
        return ""
    path = root / ann["path"].format(relpath=rel)
    return str(path) if path.is_file() else ""


def _apply_lists(card: dict, spec: dict, root: Path, fold: str, found: list[dict]) -> list[dict]:
    """Keep the videos the fold's list files name, with the list's split."""
    by_key = {card["list_key"].format(**r["attrs"]): r for r in found}
    kept = []
    for split, template in spec["lists"].items():
        for name, line in _read_list(root, template, fold, card.get("list_format", {})):
            if name not in by_key:
                raise DatasetError(f"{root / template.format(fold=fold)}, line {line}: video "
                                   f"{name!r} is not under {root} (or not kept by the "
                                   "protocol); is dataset.root the database's top folder?")
            record = by_key[name]
            if record["split"] and record["split"] != split:
                raise DatasetError(f"{record['path']}: in the {split} list of fold {fold} "
                                   f"but in the {record['split']} folder")
            kept.append({**record, "split": split})
    return kept
