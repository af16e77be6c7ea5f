"""The workflow's console: one progress line per stage instead of every job's details.

``snakemake`` prints, for each job, a timestamp, "Finished jobid: …" and "k of N steps"
(hundreds of lines for a demo). biorepro's profiles select this handler (a Snakemake
logger plugin, ``--logger biorepro``), which shows per stage (its rule) how many of its
jobs are done, the time
since its first job started and an estimate of the time left (elapsed / done × left):

    [14:02:11] train      2/5 (40%)  0:41 elapsed, about 1:02 left
    [14:03:20] train      5/5 done in 1:50

On a terminal the line of the running stage is rewritten in place; elsewhere (a log
file, CI) a stage prints at most one line per quarter of its jobs and one when done.
A failed job is one line naming its rule and log (the job itself prints why). Dry runs,
errors and every other message are Snakemake's own, filtered by the profile's ``quiet``.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snakemake_interface_logger_plugins.base import LogHandlerBase
from snakemake_interface_logger_plugins.common import LogEvent

HIDDEN_RULES = frozenset({"all", "stale_view"})  # bookkeeping, not stages
NOISE = re.compile(r"^(Select jobs to execute\.\.\.|Execute \d+ jobs\.\.\.)$")


def clock(seconds: float) -> str:
    """``m:ss`` (``h:mm:ss`` from an hour)."""
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else \
        f"{s // 60}:{s % 60:02d}"


@dataclass
class StageProgress:
    """Jobs done per stage, from the run's job counts per rule; ``finished`` says what
    to print when a job ends (None: nothing, below the next quarter on a non-terminal)."""

    totals: dict[str, int]
    every_job: bool = False  # a terminal: each job rewrites the stage's line
    now: Callable[[], float] = time.monotonic
    done: dict[str, int] = field(default_factory=dict)
    began: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of_rules(cls, rule_counts: dict[str, int], **kw) -> StageProgress:
        """From Snakemake's job counts per rule (its ``total`` and bookkeeping rules out)."""
        return cls({rule: int(n) for rule, n in rule_counts.items()
                    if rule not in HIDDEN_RULES and rule != "total"}, **kw)

    def started(self, rule: str) -> None:
        """A job of ``rule`` started: its stage's clock starts with its first job."""
        self.began.setdefault(rule, self.now())

    def finished(self, rule: str) -> str | None:
        """A job of ``rule`` ended: the stage's line to print, if any."""
        stage = rule  # a stage's rule is named as the stage
        if stage not in self.totals:
            return None
        self.began.setdefault(stage, self.now())
        done = self.done[stage] = self.done.get(stage, 0) + 1
        total = self.totals[stage]
        quarter = 4 * done // total > 4 * (done - 1) // total
        if not (self.every_job or quarter or done == total):
            return None
        return self.line(stage)

    def is_done(self, stage: str) -> bool:
        """Whether every job of ``stage`` has ended."""
        return stage in self.totals and self.done.get(stage, 0) >= self.totals[stage]

    def line(self, stage: str) -> str:
        """``stage done/total (%)  elapsed, about left`` (``done in`` once all ended)."""
        done, total = self.done.get(stage, 0), self.totals[stage]
        elapsed = self.now() - self.began[stage]
        head = f"{stage:<9} {done}/{total}"
        if self.is_done(stage):
            return f"{head} done in {clock(elapsed)}"
        left = elapsed / done * (total - done)
        return (f"{head} ({100 * done // total}%)  {clock(elapsed)} elapsed, "
                f"about {clock(left)} left")


class LogHandler(LogHandlerBase):
    """Snakemake's console handler for biorepro's profiles (see the module docstring)."""

    def __post_init__(self) -> None:
        from snakemake.logging import DefaultFilter, DefaultFormatter

        s = self.common_settings
        self.stream = sys.stdout if s.stdout else sys.stderr
        self.tty = self.stream.isatty()
        self.snakemake_filter = DefaultFilter(s.quiet, s.debug_dag, s.verbose, s.dryrun,
                                              s.printshellcmds)
        self.setFormatter(DefaultFormatter(s.quiet, s.show_failed_logs))
        self.progress: StageProgress | None = None
        self.rules: dict[int, str] = {}  # job id -> rule
        self.open_line = False  # a terminal line being rewritten

    writes_to_stream = True
    writes_to_file = False
    has_filter = True
    has_formatter = True
    needs_rulegraph = False

    def emit(self, record: logging.LogRecord) -> None:
        """Show ``record``: Snakemake's own text, or the stage progress it updates."""
        event = getattr(record, "event", None)
        if self.common_settings.dryrun or event not in _OURS:
            if self.snakemake_filter.filter(record) and not NOISE.match(record.getMessage()):
                self._write(self.format(record))
            if event == LogEvent.RUN_INFO and not self.common_settings.dryrun:
                self.progress = StageProgress.of_rules(record.stats, every_job=self.tty)
            return
        if event == LogEvent.JOB_INFO:
            self.rules[record.jobid] = record.rule_name
            if self.progress:
                self.progress.started(record.rule_name)
        elif event == LogEvent.JOB_FINISHED and self.progress:
            line = self.progress.finished(self.rules.get(record.job_id, ""))
            if line:
                done = self.progress.is_done(self.rules.get(record.job_id, ""))
                self._write(f"[{time.strftime('%H:%M:%S')}] {line}",
                            rewrite=self.tty and not done, replace=self.tty)
        elif event == LogEvent.JOB_ERROR:
            logs = ", ".join(record.log) if record.log else "none"
            self._write(f"[{time.strftime('%H:%M:%S')}] FAILED: {record.rule_name} "
                        f"(rule {record.rule_name}; log: {logs})")

    def _write(self, text: str, rewrite: bool = False, replace: bool = False) -> None:
        """Write a line; ``rewrite``: leave it open, to be replaced; ``replace``: replace
        the open line (else an open line is ended first)."""
        start = "\r\033[K" if self.open_line and replace else "\n" * self.open_line
        self.stream.write(start + text + ("" if rewrite else "\n"))
        self.open_line = rewrite
        self.stream.flush()


_OURS = {LogEvent.JOB_INFO, LogEvent.JOB_FINISHED, LogEvent.PROGRESS, LogEvent.JOB_ERROR}
