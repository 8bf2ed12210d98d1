"""Long jobs are not silent on the console: sail.io.log_to writes everything to the job's log and
echoes the latest progress line (a tqdm bar, a log message) at most every 30 s."""

import io
import logging
import sys

from sail import io as sio


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_progress_reaches_the_console_at_most_every_30_s(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sio.time, "monotonic", clock)
    console = io.StringIO()
    monkeypatch.setattr(sys, "stderr", console)
    log_path = tmp_path / "bench.log"
    with sio.log_to(log_path):
        sys.stderr.write("kernel bench (reps):  10%|#         | 1/10\r")
        clock.t = 10.0
        sys.stderr.write("kernel bench (reps):  20%|##        | 2/10\r")
        assert console.getvalue() == ""  # under 30 s: nothing on the console yet
        clock.t = 31.0
        sys.stderr.write("kernel bench (reps):  30%|###       | 3/10\r")
        clock.t = 45.0
        logging.getLogger("sail").info("group 4 of 10 done")
        clock.t = 62.0
        logging.getLogger("sail").info("group 5 of 10 done")
    shown = console.getvalue().splitlines()
    assert shown == ["[bench] kernel bench (reps):  30%|###       | 3/10", shown[1]]
    assert shown[1].startswith("[bench] ") and shown[1].endswith("group 5 of 10 done")
    text = log_path.read_text()  # the log has everything
    for needle in ("1/10", "2/10", "3/10", "group 4 of 10 done", "group 5 of 10 done"):
        assert needle in text
    assert sys.stderr is console  # restored


def test_a_closed_console_does_not_fail_the_job(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(sio.time, "monotonic", clock)
    console = io.StringIO()
    console.close()
    monkeypatch.setattr(sys, "stderr", console)
    with sio.log_to(tmp_path / "job.log"):
        clock.t = 100.0
        sys.stderr.write("50%\r")
        sys.stderr.write("60%\r")
    assert "60%" in (tmp_path / "job.log").read_text()
