"""One `digest` command in a fresh interpreter, with the peak RSS it and its children reached.

Shared by the benches that report peak_mb: the figure comes from getrusage inside the measured
interpreter, so the bench's own memory never counts.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

_WRAPPER = (
    "import resource, sys\n"
    "from digest.cli import main\n"
    "try:\n"
    "    rc = main(sys.argv[1:])\n"
    "finally:\n"
    "    print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "    print('CHILD_PEAK_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,"
    " file=sys.stderr)\n"
    "sys.exit(rc or 0)\n"
)


@dataclass(frozen=True)
class MeasuredRun:
    returncode: int
    stdout: str
    stderr: str  # without the two PEAK lines
    seconds: float
    peak_mb: float  # the command's own interpreter
    child_peak_mb: float  # the largest of its children (getrusage keeps only the maximum)


def run_measured(
    args: Sequence[str], *, env: Mapping[str, str], cwd: Path | None = None
) -> MeasuredRun:
    """`digest ARGS...` in a new interpreter; its peak RSS and its largest child's."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    figures, rest = {}, []
    for line in done.stderr.splitlines():
        name, _, value = line.partition(" ")
        if name in ("PEAK_KB", "CHILD_PEAK_KB") and value.isdigit():
            figures[name] = int(value) / 1024
        else:
            rest.append(line)
    return MeasuredRun(
        returncode=done.returncode,
        stdout=done.stdout,
        stderr="\n".join(rest),
        seconds=seconds,
        peak_mb=figures.get("PEAK_KB", 0.0),
        child_peak_mb=figures.get("CHILD_PEAK_KB", 0.0),
    )
