"""What the machine was doing during an eval run, as far as the run can know: its cores,
CPU and memory, the load average before and after, the run's own CPU time against its
wall time, and the processes that were busiest besides it. Latencies mean little without
it: on two shared cores a busy neighbour doubles them.

Linux's /proc is read where it exists; elsewhere the fields it would give stay empty.
"""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROC = Path("/proc")
SAMPLE_SECONDS = 0.5  # how long the busiest processes are watched, before and after


@dataclass(frozen=True)
class Busy:
    """A process and the share of one core it used while it was watched."""

    pid: int
    name: str
    cpu_percent: float


@dataclass(frozen=True)
class Snapshot:
    at: float  # time.time()
    wall: float  # time.perf_counter()
    cpu_seconds: float  # this process, user + system, all threads
    load: tuple[float, float, float]  # 1, 5, 15 minutes
    memory_available_mb: float | None
    busiest: list[Busy] = field(default_factory=list)


@dataclass(frozen=True)
class MachineLoad:
    cores: int
    cpu_model: str
    memory_total_mb: float | None
    system: str
    before: Snapshot
    after: Snapshot

    @property
    def run_seconds(self) -> float:
        return self.after.wall - self.before.wall

    @property
    def run_cores(self) -> float:
        """Cores the run itself kept busy on average (its CPU time over its wall time)."""
        seconds = self.run_seconds
        return (self.after.cpu_seconds - self.before.cpu_seconds) / seconds if seconds else 0.0

    def others(self) -> dict[str, float]:
        """The other programs that were busy, by name: the share of a core all their
        processes used together, the larger of the two samples (before and after)."""
        shares: dict[str, float] = {}
        for snap in (self.before, self.after):
            by_name: dict[str, float] = {}
            for p in snap.busiest:
                by_name[p.name] = by_name.get(p.name, 0.0) + p.cpu_percent
            for name, share in by_name.items():
                shares[name] = max(shares.get(name, 0.0), round(share, 1))
        return dict(sorted(shares.items(), key=lambda kv: -kv[1]))

    def summary(self) -> str:
        """One line for the console and the report's header."""
        b, a = self.before.load, self.after.load
        others = ", ".join(f"{name} {share:.0f}%" for name, share in self.others().items())
        busy = f"; also busy (% of a core): {others}" if others else ""
        return (
            f"{self.cores} cores; load average {b[0]:.2f} before, {a[0]:.2f} after "
            f"(1 min); the run used {self.run_cores:.2f} cores for {self.run_seconds:.0f} s"
            f"{busy}"
        )

    def as_dict(self) -> dict[str, Any]:
        def snap(s: Snapshot) -> dict[str, Any]:
            return {
                "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(s.at)),
                "load_average": [round(x, 2) for x in s.load],
                "memory_available_mb": s.memory_available_mb,
                "busiest_other_processes": [
                    {"pid": p.pid, "name": p.name, "cpu_percent": p.cpu_percent} for p in s.busiest
                ],
            }

        return {
            "cores": self.cores,
            "cpu_model": self.cpu_model,
            "memory_total_mb": self.memory_total_mb,
            "system": self.system,
            "run_seconds": round(self.run_seconds, 2),
            "run_cores": round(self.run_cores, 2),
            "before": snap(self.before),
            "after": snap(self.after),
            "other_programs_cpu_percent": self.others(),
        }


def snapshot(sample: float = SAMPLE_SECONDS) -> Snapshot:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Snapshot(
        at=time.time(),
        wall=time.perf_counter(),
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        load=os.getloadavg(),
        memory_available_mb=_meminfo("MemAvailable"),
        busiest=busiest_processes(sample),
    )


def measure(before: Snapshot, sample: float = SAMPLE_SECONDS) -> MachineLoad:
    """The machine from `before` (taken when the run started) to now."""
    return MachineLoad(
        cores=os.cpu_count() or 0,
        cpu_model=_cpu_model(),
        memory_total_mb=_meminfo("MemTotal"),
        system=f"{platform.system()} {platform.release()}, Python {platform.python_version()}",
        before=before,
        after=snapshot(sample),
    )


def busiest_processes(sample: float, top: int = 10, floor: float = 5.0) -> list[Busy]:
    """Other processes that used at least `floor` % of a core over `sample` seconds."""
    if sample <= 0 or not PROC.is_dir():
        return []
    first = _cpu_ticks()
    time.sleep(sample)
    second = _cpu_ticks()
    ticks = os.sysconf("SC_CLK_TCK") * sample
    me = os.getpid()
    busy = [
        Busy(pid, name, round(100 * (t - first[pid][1]) / ticks, 1))
        for pid, (name, t) in second.items()
        if pid in first and pid != me
    ]
    busy = [b for b in busy if b.cpu_percent >= floor]
    return sorted(busy, key=lambda b: b.cpu_percent, reverse=True)[:top]


def _cpu_ticks() -> dict[int, tuple[str, int]]:
    """Every process's name and CPU time so far, in clock ticks."""
    found: dict[int, tuple[str, int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue  # gone, or not ours to read
        # "pid (name) state ppid ..."; the name may hold spaces and parentheses.
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        found[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))  # utime + stime
    return found


def _meminfo(key: str) -> float | None:
    try:
        for line in (PROC / "meminfo").read_text().splitlines():
            if line.startswith(key + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def _cpu_model() -> str:
    try:
        for line in (PROC / "cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()
