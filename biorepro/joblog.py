"""Progress logging for workflow jobs: one flushed, timestamped line per event."""

from __future__ import annotations

import contextlib
import sys
import time
import traceback
from collections.abc import Callable, Iterator

Log = Callable[[str], None]


@contextlib.contextmanager
def job_logger(path: str | None) -> Iterator[Log]:
    """Yield ``log(msg)`` writing to ``path`` (and stderr); a failure is logged, then re-raised."""
    stream = open(path, "a", buffering=1) if path else None

    def log(msg: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')}] {msg}"
        print(line, file=sys.stderr, flush=True)
        if stream:
            stream.write(line + "\n")

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
