"""Peak memory and CPU time of the running process, as the benchmarks report them."""

from __future__ import annotations

import resource


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB: ``VmHWM``, which starts afresh at exec.

    ``ru_maxrss`` does not: Linux carries the forking parent's peak into it, so a benchmark child
    started after its parent generated 10M profiles (17 GB) reported 17 GB whatever it used.
    ``ru_maxrss`` is the fallback where ``/proc`` is absent.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    """CPU seconds this process has used, user and system: the work a run did, which the
    machine's other tenants disturb less than the wall time (on two busy cores, a run's wall
    time follows its CPU time; system time includes getting fresh memory from the host)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
