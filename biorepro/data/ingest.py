"""Dataset ingestion: turn a dataset on disk into a list of ``VideoRecord``.

Generic kinds (``dataset.kind``; the databases with a protocol card, and the built-in
synthetic one in the Replay-Attack layout, are read by :mod:`biorepro.data.protocols`):

- ``folders``: ``{train,devel,test}/{class}/**/video`` or, without fixed splits,
  ``{class}/**/video``; the class named ``dataset.bonafide_class`` is bona fide, every
  other class is an attack type.
- ``manifest``: a CSV with columns ``path,label,subject`` and optional
  ``split,attack_type,annotations`` (the video's face-location file, see
  :mod:`biorepro.data.faces`; empty for none); relative paths are relative to the CSV's
  folder, and every path must resolve inside that folder unless
  ``dataset.allow_outside_root``.

``video_id`` is the path relative to the dataset root, without suffix, with ``/``
replaced by ``--`` (unique and safe as a file-name stem).
"""

from __future__ import annotations

import csv
import logging
import os
import re
from pathlib import Path

from biorepro.data.records import LABELS, SPLITS, VideoRecord
from biorepro.errors import Refusal

EXTENSIONS = [".mov", ".avi", ".mp4", ".mkv"]  # of videos, when the config names none


LOG = logging.getLogger(__name__)  # planning's warnings: printed to stderr


class DatasetError(Refusal, ValueError):
    """The dataset on disk does not match its declared layout."""


def video_id(path: Path, root: Path) -> str:
    """Id of the video ``path`` under ``root``: its relative path without the extension,
    ``/`` replaced by ``--`` (``real/client001.mov`` -> ``real--client001``)."""
    prefix = os.path.join(os.fspath(root), "")
    if not os.fspath(path).startswith(prefix):
        raise ValueError(f"{path} is not under {root}")
    return os.path.splitext(os.fspath(path)[len(prefix):])[0].replace(os.sep, "--")


def videos(folder: Path, extensions: list[str]) -> list[Path]:
    """The files under ``folder`` whose extension is one of ``extensions`` (any case),
    sorted by path components."""
    exts = {e.lower() for e in extensions}
    found = []
    for dirpath, _dirs, files in os.walk(folder):
        found += [os.path.join(dirpath, f) for f in files if os.path.splitext(f)[1].lower() in exts]
    return [Path(p) for p in sorted(found, key=lambda p: p.split(os.sep))]


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        raise DatasetError(f"{what}: folder {path} does not exist")


def _subject(stem: str, subject_regex: str | None, path: Path) -> str:
    if subject_regex is None:
        return stem
    m = re.search(subject_regex, stem)
    if not m:
        raise DatasetError(f"{path}: dataset.subject_regex {subject_regex!r} does not match "
                           f"the file name {stem!r}")
    return m.groupdict().get("subject") or (m.group(1) if m.groups() else m.group(0))


def folders(root: Path, bonafide_class: str, extensions: list[str],
            subject_regex: str | None = None) -> list[VideoRecord]:
    """Records of ``{split}/{class}/`` (or ``{class}/``) folders under ``root``."""
    _require_dir(root, "dataset.root (folders)")
    has_splits = [s for s in SPLITS if (root / s).is_dir()]
    if has_splits and len(has_splits) != len(SPLITS):
        missing = sorted(set(SPLITS) - set(has_splits))
        raise DatasetError(f"{root}: has split folders {has_splits} but not {missing}; "
                           "provide all of train/devel/test or none")
    split_dirs = [(s, root / s) for s in SPLITS] if has_splits else [("", root)]
    records = []
    for split, split_dir in split_dirs:
        classes = sorted(p for p in split_dir.iterdir() if p.is_dir())
        if not classes:
            raise DatasetError(f"{split_dir}: no class folders (expected e.g. "
                               f"{bonafide_class}/ and attack/)")
        for class_dir in classes:
            is_bonafide = class_dir.name == bonafide_class
            found = videos(class_dir, extensions)
            if not found:
                LOG.warning("biorepro: WARNING class folder %s/ has no video (extensions %s): "
                            "it is left out; add its videos, fix dataset.extensions, or "
                            "remove the folder", class_dir, ", ".join(extensions))
            for path in found:
                records.append(VideoRecord(
                    video_id(path, root), str(path),
                    "bonafide" if is_bonafide else "attack",
                    _subject(path.stem, subject_regex, path), split,
                    "" if is_bonafide else class_dir.name))
    if not any(r.label == "bonafide" for r in records):
        raise DatasetError(f"{root}: no videos in a '{bonafide_class}' class folder "
                           "(set dataset.bonafide_class to the bona fide folder's name)")
    return records


MANIFEST_REQUIRED = ("path", "label", "subject")
MANIFEST_OPTIONAL = ("split", "attack_type", "annotations")


def manifest(csv_path: Path, allow_outside_root: bool = False) -> list[VideoRecord]:
    """Records listed in a manifest CSV (UTF-8, with or without a byte-order mark).

    Errors name the file and row (its line; the header is row 1): unknown or missing columns, a
    video that does not exist, a row that repeats an earlier one (same resolved path), a
    path that resolves outside the CSV's folder (unless ``allow_outside_root``).
    """
    if not csv_path.is_file():
        raise DatasetError(f"dataset.manifest: file {csv_path} does not exist")
    base = csv_path.parent
    root = base.resolve()
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames or []
        missing = [c for c in MANIFEST_REQUIRED if c not in header]
        unknown = [c for c in header if c not in MANIFEST_REQUIRED + MANIFEST_OPTIONAL]
        problems = [f"{what} column(s) {cols}" for what, cols in
                    (("missing", missing), ("unknown", unknown)) if cols]
        if problems:
            raise DatasetError(f"{csv_path}: {'; '.join(problems)}; the columns are "
                               f"{', '.join(MANIFEST_REQUIRED)} (required) and "
                               f"{', '.join(MANIFEST_OPTIONAL)} (optional)")
        records = []
        row_of: dict[Path, int] = {}
        for row in reader:
            row_no = reader.line_num
            where = f"{csv_path}, row {row_no}"
            if None in row or None in row.values():
                raise DatasetError(f"{where}: not as many fields as the header's {len(header)}")
            path = Path(row["path"])
            path = path if path.is_absolute() else base / path
            if row["label"] not in LABELS:
                raise DatasetError(f"{where}: label {row['label']!r} is not one of {LABELS}")
            if not path.is_file():
                raise DatasetError(f"{where}: video {path} does not exist")
            resolved = path.resolve()
            inside = resolved.is_relative_to(root)
            if not inside and not allow_outside_root:
                raise DatasetError(f"{where}: video {row['path']} resolves to {resolved}, "
                                   f"outside the manifest's folder {root}; move it there or "
                                   "set dataset.allow_outside_root: true")
            if resolved in row_of:
                raise DatasetError(f"{csv_path}: row {row_no} repeats row {row_of[resolved]} "
                                   f"(both are {resolved}); remove one of them")
            row_of[resolved] = row_no
            annotations = row.get("annotations", "").strip()
            if annotations:
                annotations = _annotation_file(Path(annotations), base, root, where,
                                               allow_outside_root)
            try:
                records.append(VideoRecord(
                    video_id(resolved, root) if inside else path.stem, str(path), row["label"],
                    row["subject"], row.get("split", "").strip(),
                    row.get("attack_type", "").strip(), annotations))
            except ValueError as err:
                raise DatasetError(f"{where}: {err}") from None
    if not records:
        raise DatasetError(f"{csv_path}: the manifest lists no videos")
    return records


def _annotation_file(path: Path, base: Path, root: Path, where: str,
                     allow_outside_root: bool) -> str:
    """A manifest row's annotation file (relative to ``base``), checked as its video is."""
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise DatasetError(f"{where}: annotation file {path} does not exist")
    if not path.resolve().is_relative_to(root) and not allow_outside_root:
        raise DatasetError(f"{where}: annotation file {path} resolves outside the manifest's "
                           f"folder {root}; move it there or set dataset.allow_outside_root: true")
    return str(path)


def check_unique_ids(records: list[VideoRecord]) -> None:
    """Raise :class:`DatasetError` naming both paths when two records share a video id."""
    seen: dict[str, str] = {}
    for r in records:
        if r.video_id in seen:
            raise DatasetError(f"two videos have the same id {r.video_id!r}: {seen[r.video_id]} "
                               f"and {r.path}; rename one of them")
        seen[r.video_id] = r.path
