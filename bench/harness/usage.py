"""What a process tree uses, from /proc: its peak resident memory (polled), its CPU time, and how
busy each CPU is (to warn when other processes share the measured one)."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path


def process_tree(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{current}/task").iterdir():
                with contextlib.suppress(OSError):
                    queue.extend(int(c) for c in (task / "children").read_text().split())
    return found


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


class PeakRss(threading.Thread):
    """Polls the summed VmRSS of a process tree every 100 ms; `.peak_mb` is the highest seen."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            total = sum(rss_kb(p) for p in process_tree(self.pid))
            self.peak_kb = max(self.peak_kb, total)
            self.halt.wait(0.1)

    @property
    def peak_mb(self) -> float:
        return self.peak_kb / 1024

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=2)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far."""
    ticks = 0
    for member in process_tree(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = Path(f"/proc/{member}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_busy(cpus: Sequence[int], seconds: float = 1.0) -> dict[int, float]:
    """Percent of each CPU in use (by anything) over `seconds`, from /proc/stat."""

    def sample() -> dict[int, tuple[int, int]]:
        found = {}
        for line in Path("/proc/stat").read_text().splitlines():
            name, *values = line.split()
            if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
                numbers = [int(v) for v in values]
                idle = numbers[3] + (numbers[4] if len(numbers) > 4 else 0)
                found[int(name[3:])] = (sum(numbers[:8]), idle)
        return found

    first = sample()
    time.sleep(seconds)
    second = sample()
    busy = {}
    for cpu, (total, idle) in second.items():
        spent = total - first[cpu][0]
        busy[cpu] = 100.0 * (spent - (idle - first[cpu][1])) / spent if spent else 0.0
    return busy
