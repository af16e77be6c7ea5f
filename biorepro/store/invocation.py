"""How the workflow or a ``biorepro`` command was invoked, so that a command biorepro prints
as a fix works when pasted as printed: same working directory, ``--configfile`` files
and ``--config`` overrides (hence the same store), and a ``biorepro`` that exists.

The Snakefile and the ``biorepro`` command set it once (:meth:`Invocation.export`); jobs
inherit it through their environment (``BIOREPRO_INVOCATION``), so an error raised deep
in a job names the same options.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ENV = "BIOREPRO_INVOCATION"


def parse_overrides(pairs: list[str]) -> dict:
    """``--config KEY=VALUE`` pairs parsed as Snakemake parses them (numbers, booleans,
    YAML), so that both give one configuration the same overrides."""
    if not pairs:
        return {}
    from snakemake.cli import parse_config

    try:
        return parse_config(pairs)
    except ValueError as err:
        raise ValueError(f"--config: {err}") from None


def _program() -> str:
    """``biorepro`` when that name runs this environment's command, else its full path."""
    mine = Path(sys.executable).parent / "biorepro"
    found = shutil.which("biorepro")
    if found and mine.exists() and Path(found).resolve() == mine.resolve():
        return "biorepro"
    if mine.exists():
        return shlex.quote(str(mine))
    return f"{shlex.quote(sys.executable)} -m biorepro.cli"


@dataclass(frozen=True)
class Invocation:
    """The working directory, ``--configfile`` files (as given) and ``--config``
    overrides (``KEY=VALUE`` as given) of a run."""

    workdir: str
    configfiles: tuple[str, ...] = ()
    config: tuple[str, ...] = ()

    def options(self) -> list[str]:
        """The ``--configfile``/``--config`` options, as for snakemake or biorepro."""
        out = ["--configfile", *self.configfiles] if self.configfiles else []
        return out + (["--config", *self.config] if self.config else [])

    def biorepro(self, *args: str) -> str:
        """The shell command running ``biorepro ARGS`` on this configuration."""
        return self._line([_program(), *map(shlex.quote, args)])

    def snakemake(self, *args: str) -> str:
        """The shell command running ``snakemake ARGS`` on this configuration."""
        return self._line(["snakemake", *map(shlex.quote, args)])

    def _line(self, words: list[str]) -> str:
        line = " ".join(words + [shlex.quote(o) for o in self.options()])
        if Path(self.workdir).resolve() == Path.cwd().resolve():
            return line
        return f"cd {shlex.quote(self.workdir)} && {line}"

    def export(self, environ=None) -> None:
        """Make this the invocation of the process and of the jobs it starts."""
        environ = os.environ if environ is None else environ
        environ[ENV] = json.dumps({"workdir": self.workdir, "configfiles": self.configfiles,
                                   "config": self.config})

    @classmethod
    def current(cls, environ=None) -> Invocation:
        """The exported invocation, or a plain one in the working directory."""
        environ = os.environ if environ is None else environ
        try:
            data = json.loads(environ[ENV])
            return cls(data["workdir"], tuple(data["configfiles"]), tuple(data["config"]))
        except (KeyError, ValueError, TypeError):
            return cls(os.getcwd())
