import os
import subprocess
import sys

import pytest

from biorepro.errors import Refusal
from biorepro.joblog import job_logger, native_stderr
from biorepro.jobs.run import refusals_end_the_job


def test_native_stderr_goes_to_the_log_not_the_console(capfd):
    lines = []
    with native_stderr(lines.append):
        os.write(2, b"I0000 cudart_stub.cc:31] Could not find cuda drivers\n")
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('child\\n')"],
                       check=True)
    os.write(2, b"after\n")
    assert lines == ["stderr: I0000 cudart_stub.cc:31] Could not find cuda drivers",
                     "stderr: child"]
    assert capfd.readouterr().err == "after\n"


def test_a_refusal_ends_the_job_with_its_message_once(tmp_path, capsys):
    log_file = tmp_path / "job.log"
    with pytest.raises(SystemExit) as end:
        with job_logger(str(log_file)) as log, refusals_end_the_job(log):
            raise Refusal("3 video(s) cannot be used: fix them")
    assert end.value.code == 1
    err = capsys.readouterr().err
    assert err == "biorepro: 3 video(s) cannot be used: fix them\n"  # no traceback
    assert "refused: 3 video(s) cannot be used" in log_file.read_text()


def test_other_errors_keep_their_traceback(tmp_path):
    with pytest.raises(KeyError):
        with job_logger(str(tmp_path / "job.log")) as log, refusals_end_the_job(log):
            raise KeyError("bug")
    assert "Traceback" in (tmp_path / "job.log").read_text()
