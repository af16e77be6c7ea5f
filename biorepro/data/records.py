"""The records that flow between stages: one source video, and its labels.

Conventions: ``label`` is ``"bonafide"`` or ``"attack"``; ``attack_type`` is the
presentation-attack instrument (PAI) name, ``""`` for bona fide; ``split`` is
``"train"``, ``"devel"``, ``"test"`` or ``""`` when the dataset does not fix it;
``annotations`` is the path of the video's per-frame face-location file, ``""`` when the
dataset ships none; ``domain`` is the source database of a video of a multi-source
experiment (a benchmark's domain letter, e.g. ``"O"``), ``""`` for a single dataset.
"""

from __future__ import annotations

from dataclasses import dataclass

LABELS = ("bonafide", "attack")
SPLITS = ("train", "devel", "test")


@dataclass(frozen=True)
class VideoRecord:
    """One source video of a dataset.

    ``video_id`` is unique within the dataset and safe as a file-name stem.
    """

    video_id: str
    path: str
    label: str
    subject: str
    split: str = ""
    attack_type: str = ""
    annotations: str = ""
    domain: str = ""

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"video {self.path}: label {self.label!r} is not one of {LABELS}")
        if self.split and self.split not in SPLITS:
            raise ValueError(f"video {self.path}: split {self.split!r} is not one of {SPLITS}")
        if self.label == "bonafide" and self.attack_type:
            raise ValueError(f"video {self.path}: a bona fide video has no attack_type")
        if self.label == "attack" and not self.attack_type:
            object.__setattr__(self, "attack_type", "attack")
