import io
import logging

from snakemake_interface_logger_plugins.common import LogEvent
from snakemake_interface_logger_plugins.registry import LoggerPluginRegistry

from biorepro.console import LogHandler, StageProgress, clock


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_stages_count_their_rules_jobs_and_hide_bookkeeping():
    p = StageProgress.of_rules({"frames": 3, "train": 5, "all": 1, "stale_view": 1, "view": 1,
                                "total": 11})
    assert p.totals == {"frames": 3, "train": 5, "view": 1}


def test_a_stage_prints_a_line_per_quarter_and_when_done_with_elapsed_and_left():
    now = Clock()
    p = StageProgress({"train": 8}, now=now)
    p.started("train")
    lines = []
    for _ in range(8):
        now.t += 30
        lines.append(p.finished("train"))
    shown = [line for line in lines if line]
    assert shown == ["train     2/8 (25%)  1:00 elapsed, about 3:00 left",
                     "train     4/8 (50%)  2:00 elapsed, about 2:00 left",
                     "train     6/8 (75%)  3:00 elapsed, about 1:00 left",
                     "train     8/8 done in 4:00"]


def test_on_a_terminal_every_job_updates_the_line():
    p = StageProgress({"metrics": 3}, every_job=True, now=Clock())
    assert all(p.finished("metrics") for _ in range(3))
    assert p.is_done("metrics") and p.finished("unknown") is None


def test_clock():
    assert (clock(59.6), clock(61), clock(3725)) == ("1:00", "1:01", "1:02:05")


class Settings:
    printshellcmds = False
    nocolor = True
    quiet = set()
    debug_dag = False
    verbose = False
    show_failed_logs = True
    stdout = False
    dryrun = False


def record(msg, **extra):
    r = logging.LogRecord("snakemake", logging.INFO, "", 0, msg, None, None)
    r.__dict__.update(extra)
    return r


def test_the_handler_replaces_per_job_lines_by_stage_progress():
    handler = LogHandler(Settings(), None)
    handler.stream = io.StringIO()
    handler.emit(record("Job stats: ...", event=LogEvent.RUN_INFO,
                        stats={"split": 1, "metrics": 2, "all": 1, "total": 4}))
    handler.emit(record("Select jobs to execute..."))
    for jobid, rule in ((1, "split"), (2, "metrics"), (3, "metrics")):
        handler.emit(record(f" Rule: {rule}", event=LogEvent.JOB_INFO, jobid=jobid,
                            rule_name=rule))
        handler.emit(record("Finished", event=LogEvent.JOB_FINISHED, job_id=jobid))
        handler.emit(record("1 of 4 steps", event=LogEvent.PROGRESS, done=1, total=4))
    handler.emit(record("Error in rule metrics", event=LogEvent.JOB_ERROR,
                        rule_name="metrics", log=[".biorepro/logs/metrics/k.log"]))
    lines = handler.stream.getvalue().splitlines()
    assert lines[0] == "Job stats: ..."
    assert [line[11:] for line in lines[1:]] == [
        "split     1/1 done in 0:00", "metrics   1/2 (50%)  0:00 elapsed, about 0:00 left",
        "metrics   2/2 done in 0:00",
        "FAILED: metrics (rule metrics; log: .biorepro/logs/metrics/k.log)"]


def test_the_profiles_logger_is_installed():
    assert LoggerPluginRegistry().get_plugin("biorepro").log_handler is LogHandler
