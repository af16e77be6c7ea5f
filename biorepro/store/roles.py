"""Run identities: how a summary's and a comparison's input entries are named, one type.

An entry of one run is named by its role ``"[<target>/]<fold>/<run>[/<level>]"``: the
cross-dataset target (cross-dataset metrics only), the protocol's fold (``all`` without
folds), the run's label (a plain seed ``3``, or a run of a ``randomness`` design such as
``i1-o0-n0``) and the evaluation level (metrics entries). Roles name the ``inputs``
ingredient of keys, so their text is fixed: :meth:`Run.role` writes it and
:meth:`Run.parse` reads it back, nothing else does either.
"""

from __future__ import annotations

from dataclasses import dataclass


def run_label(text: str) -> int | str:
    """A run's label as written in a role: a plain seed (int), or a design's run (str)."""
    return int(text) if text.isdigit() else text


@dataclass(frozen=True)
class Run:
    """One run (``fold``, ``label``), at a ``level`` and on a cross-dataset ``target``
    where the entry has them."""

    fold: str
    label: int | str
    level: str | None = None
    target: str | None = None

    @property
    def role(self) -> str:
        """The role text (module docstring)."""
        parts = [self.target, self.fold, str(self.label), self.level]
        return "/".join(p for p in parts if p is not None)

    @property
    def run(self) -> str:
        """``"<fold>/<label>"``: the run across levels and targets."""
        return f"{self.fold}/{self.label}"

    @property
    def order(self) -> tuple:
        """Plain seeds in increasing order, before the runs of a design (in their order)."""
        return (0, self.label) if isinstance(self.label, int) else (1, 0)

    @classmethod
    def parse(cls, role: str, *, level: bool, target: bool = False) -> Run:
        """The run of ``role``, which has a level and a target as said (a fold may itself
        contain ``/``: it is what the other parts leave)."""
        head, _, last = role.rpartition("/") if level else (role, "", None)
        if target:
            tname, _, head = head.partition("/")
        fold, _, label = head.rpartition("/")
        return cls(fold, run_label(label), last if level else None,
                   tname if target else None)
