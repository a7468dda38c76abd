"""Helpers for benchmarks: start subprocesses with logs in files, wait for them, stop them."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
SANDBOX_READY = re.compile(r"sandbox listening on (http://\S+)")


class ProcessError(RuntimeError):
    """A subprocess died, failed, or did not become ready; the message carries its output."""


@dataclass
class Proc:
    """A started subprocess whose stdout and stderr go to files (so pipes never fill up)."""

    name: str
    popen: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    argv: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stdout(self) -> str:
        return _read(self.stdout_path)

    def stderr(self) -> str:
        return _read(self.stderr_path)

    def report(self, lines: int = 40) -> str:
        """Exit status and the last lines of stderr (and stdout), for an error message."""
        code = self.popen.poll()
        status = "still running" if code is None else f"exit code {code}"
        parts = [f"{self.name} (pid {self.pid}, {status})"]
        for label, text in (("stderr", self.stderr()), ("stdout", self.stdout())):
            tail = text.splitlines()[-lines:]
            if tail:
                parts.append(f"--- {self.name} {label} (last {len(tail)} lines) ---")
                parts.extend(tail)
        return "\n".join(parts)

    def cpu_seconds(self) -> float | None:
        """User plus system CPU time used so far (Linux /proc; None elsewhere or once reaped)."""
        return process_cpu_seconds(self.pid)

    def kill(self) -> int:
        """SIGKILL at once (a crash: no handler runs, nothing is flushed), reap; the exit code."""
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.popen.kill()
        return self.popen.wait()

    def check_alive(self) -> None:
        if not self.alive():
            raise ProcessError(f"{self.name} died\n{self.report()}")

    def wait_for_output(self, pattern: re.Pattern[str], timeout: float = 15.0) -> re.Match[str]:
        """Poll stdout until `pattern` matches; raise ProcessError if it died or time ran out."""
        deadline = time.monotonic() + timeout
        while True:
            match = pattern.search(self.stdout())
            if match:
                return match
            self.check_alive()
            if time.monotonic() >= deadline:
                raise ProcessError(
                    f"{self.name} printed no {pattern.pattern!r} within {timeout:g}s\n"
                    + self.report()
                )
            time.sleep(0.02)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, wait up to `timeout`, then SIGKILL; returns the exit code."""
        popen = self.popen
        if popen.poll() is None:
            try:
                popen.send_signal(signal.SIGTERM)
                return popen.wait(timeout)
            except subprocess.TimeoutExpired:
                popen.kill()
            except ProcessLookupError:
                pass
        try:
            return popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _text(data: str | bytes | None) -> str:
    if isinstance(data, bytes):
        return data.decode("utf-8", errors="replace")
    return data or ""


def process_cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds of a process, from /proc/PID/stat; None if unavailable."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def python_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The current environment plus `extra`, with the project importable and output unbuffered."""
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.update(extra or {})
    return env


def run_checked(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 30.0,
) -> str:
    """Run a short command to completion; its stdout, or ProcessError with its output."""
    try:
        result = subprocess.run(
            list(argv),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:  # run() has killed it by now
        output = "".join(_text(part) for part in (exc.stdout, exc.stderr))
        raise ProcessError(f"{name} did not finish within {timeout:g} s\n{output}") from None
    if result.returncode != 0:
        raise ProcessError(
            f"{name} failed with exit code {result.returncode}\n{result.stdout}{result.stderr}"
        )
    return result.stdout


class Procs:
    """Starts subprocesses and stops every one of them (newest first) on close or on exit."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[Proc] = []
        self._count = 0

    def __enter__(self) -> Procs:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop_all()

    def start(
        self,
        name: str,
        argv: Sequence[str],
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> Proc:
        """Start `argv` in its own session (so a terminal Ctrl+C reaches only this process)."""
        self._count += 1
        stem = f"{self._count:02d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}"
        stdout_path = self.log_dir / f"{stem}.out"
        stderr_path = self.log_dir / f"{stem}.err"
        with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
            popen = subprocess.Popen(
                list(argv),
                env=dict(env) if env is not None else None,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        proc = Proc(name, popen, stdout_path, stderr_path, list(argv))
        self.running.append(proc)
        return proc

    def stop(self, proc: Proc, timeout: float = 5.0) -> int | None:
        try:
            return proc.stop(timeout)
        finally:
            if proc in self.running:
                self.running.remove(proc)

    def kill(self, proc: Proc) -> int:
        """`proc.kill()`, and forget it (a crash test starts its successor with `start`)."""
        try:
            return proc.kill()
        finally:
            if proc in self.running:
                self.running.remove(proc)

    def stop_all(self, timeout: float = 5.0) -> None:
        for proc in reversed(list(self.running)):
            self.stop(proc, timeout)

    def start_sandbox(
        self, *args: str, name: str = "sandbox", timeout: float = 15.0
    ) -> tuple[Proc, str]:
        """Start `python -m sandbox.telegram --port 0 ARGS`; the process and its base URL."""
        argv = [PYTHON, "-m", "sandbox.telegram", "--port", "0", *args]
        proc = self.start(name, argv, env=python_env(), cwd=ROOT)
        return proc, proc.wait_for_output(SANDBOX_READY, timeout).group(1)


# `antq run` with the outbox's pace for groups set from argv: 17 a minute keeps a real office
# group under Telegram's 20, but makes 300 office notifications take 18 minutes.
_ANTQ_RUN_GROUP_PACE = """
import functools, sys
import bot.app
from bot.__main__ import main
bot.app.OutboxSender = functools.partial(
    bot.app.OutboxSender, group_per_minute=float(sys.argv[1]), group_burst=int(sys.argv[2])
)
raise SystemExit(main(["run"]))
"""


def antq_run_argv(group_per_minute: float | None = None, group_burst: int = 20) -> list[str]:
    """argv of `python -m bot run`; with `group_per_minute`, the outbox sender paces messages to
    a group (the office) at that rate after a burst of `group_burst`, instead of its built-in
    17 a minute. For runs against a sandbox whose group limit is off, where that pace is not
    what is measured; everything else is the bot as shipped."""
    if group_per_minute is None:
        return [PYTHON, "-m", "bot", "run"]
    return [PYTHON, "-c", _ANTQ_RUN_GROUP_PACE, str(group_per_minute), str(group_burst)]
