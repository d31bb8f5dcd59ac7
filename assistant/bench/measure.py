"""Measuring a child process: wall time and its own peak RSS (`os.wait4` returns the
child's ru_maxrss), the environment that hands it the parent's configuration, and the small
probes (a free port, a page that answers, a folder's size, the machine's load)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.config import Config

WORKER_TIMEOUT = 3 * 3600


class BenchError(Exception):
    """A measured step failed; the message names it and the child's last error line."""


@dataclass
class Measured:
    seconds: float
    peak_rss_mb: float
    stdout: str


def run_worker(
    task: str, cfg: Config, work: Path, spec: dict[str, Any]
) -> tuple[dict[str, Any], Measured]:
    """Run `python -m assistant.bench.run TASK` on `cfg`; its JSON result and what it cost."""
    fd, name = tempfile.mkstemp(prefix=f"{task}-", suffix=".json", dir=work)
    os.close(fd)
    spec_path, out_path = Path(name), Path(name).with_suffix(".out.json")
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    args = [sys.executable, "-m", "assistant.bench.workers", task, str(spec_path), str(out_path)]
    proc = run_measured(args, config_env(cfg), work)
    return json.loads(out_path.read_text(encoding="utf-8")), proc


def run_measured(args: list[str], env: dict[str, str], cwd: Path) -> Measured:
    """Run to completion; wall seconds and the child's own peak RSS (ru_maxrss)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(args, stdout=out, stderr=err, env=env, cwd=cwd)
        timer = threading.Timer(WORKER_TIMEOUT, proc.kill)
        timer.start()
        try:
            rss = wait_rss(proc)
        finally:
            timer.cancel()
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            err.seek(0)
            raise BenchError(f"{' '.join(args[:4])} failed: {last_line(err.read())}")
        out.seek(0)
        return Measured(seconds, rss, out.read().decode("utf-8", "replace"))


def wait_rss(proc: subprocess.Popen[bytes]) -> float:
    """Reap the child with wait4, which reports its peak RSS (KiB on Linux), in MB."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024


def last_line(data: bytes) -> str:
    lines = [ln for ln in data.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"


def config_env(cfg: Config) -> dict[str, str]:
    """The environment that makes a child's `load_config()` equal `cfg` (env beats toml)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSISTANT_")}
    for key, value in _flatten(cfg.model_dump(mode="json")).items():
        env[f"ASSISTANT_{key.upper()}"] = value
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [_package_root(), env.get("PYTHONPATH")]))
    return env


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}__"))
        elif value is not None:
            flat[name] = value if isinstance(value, str) else json.dumps(value)
    return flat


def _package_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def assistant_command() -> list[str]:
    script = Path(sys.executable).parent / "assistant"
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    """Poll `url` until it answers; False on timeout or when `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except OSError:
            time.sleep(0.25)
    return False


@dataclass
class Served:
    """`assistant serve` running as a child: its process, its page's address, and whether
    the page answered (else `problem` says why, from its log)."""

    proc: subprocess.Popen[bytes]
    url: str
    up: bool
    seconds: float  # from launch until the page answered (or gave up)
    problem: str = ""


@contextmanager
def serving(cfg: Config, work: Path, timeout: float) -> Iterator[Served]:
    """`assistant serve` on a free port of 127.0.0.1 with `cfg`, stopped on leaving (the
    caller may reap it first, with `wait_rss`, to read its peak memory)."""
    port = free_port()
    env = {**config_env(cfg), "ASSISTANT_UI__PORT": str(port), "ASSISTANT_UI__HOST": "127.0.0.1"}
    url = f"http://127.0.0.1:{port}/"
    with tempfile.TemporaryFile() as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [*assistant_command(), "serve"], stdout=log, stderr=log, env=env, cwd=work
        )
        try:
            up = wait_http(url, timeout, proc)
            served = Served(proc, url, up, time.perf_counter() - t0)
            if not up:
                log.seek(0)
                served.problem = f"did not start: {last_line(log.read())}"
            yield served
        finally:
            if proc.returncode is None:
                proc.terminate()
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """(resident, high-water mark) of a running process in MB, from /proc."""
    values: dict[str, float] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                key, kb, _ = line.split()
                values[key] = int(kb) / 1024
    return values.get("VmRSS:", 0.0), values.get("VmHWM:", 0.0)


def dir_mb(path: Path) -> float:
    if not path.exists():
        return 0.0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "load_average_start": loadavg(),
    }


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))
