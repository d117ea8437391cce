"""Who holds a delivery claim (host:pid of the claiming process), and whether it still runs.

Recovery settles the claims of processes that are gone; a live one's claims are its own.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from digest.store.schema import Delivery


def worker_id() -> str:
    """host:pid, so recovery can tell a claim of a live process on this host from a dead one."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim_is_dead(row: Delivery, host: str, now: dt.datetime, stale_after: dt.timedelta) -> bool:
    claimed_host, _, pid = (row.claimed_by or "").rpartition(":")
    if claimed_host == host and pid.isdigit():
        if int(pid) == os.getpid():
            return False
        return not running(int(pid))
    return row.claimed_at is None or now - row.claimed_at > stale_after


def running(pid: int) -> bool:
    """Whether process ``pid`` on this host still runs. A zombie has exited: where nobody reaps
    orphans (a container whose first process is not an init), its pid lingers until then."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc here: signal 0 said it runs
