"""Progress logging for workflow jobs: one flushed, timestamped line per event.

A job run by the workflow logs to its log file only (the console shows the workflow's
progress; Snakemake prints a failed job's log); run by hand without a log file, to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator

Log = Callable[[str], None]


@contextlib.contextmanager
def job_logger(path: str | None) -> Iterator[Log]:
    """Yield ``log(msg)`` writing to ``path``, or to stderr without one; a failure is
    logged, then re-raised."""
    stream = open(path, "a", buffering=1) if path else None

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        if stream:
            stream.write(line + "\n")
        else:
            print(line, file=sys.stderr, flush=True)

    try:
        yield log
    except BaseException as err:
        log(f"FAILED: {type(err).__name__}: {err}")
        if stream:
            traceback.print_exc(file=stream)
        raise
    finally:
        if stream:
            stream.close()


@contextlib.contextmanager
def native_stderr(log: Log) -> Iterator[None]:
    """Send what is written to the process's stderr (file descriptor 2) meanwhile, native
    libraries included (TensorFlow's CUDA probing at import), to ``log``, not the console."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines():
                if line.strip():
                    log(f"stderr: {line}")
