"""The machine and software a run measured, for the report's header."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from .wrk import wrk_version

PACKAGES = ("django", "django-prodserver", "granian", "gunicorn", "uvicorn", "waitress")
# What python -m benchmarks.run writes into the repository (relative to it).
REWRITTEN_BY_A_RUN = ("docs/performance.md", "docs/charts")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()


def _git_revision(repo: Path) -> str:
    try:
        head = _git(repo, "rev-parse", "--short", "HEAD")
        # The report and charts this run rewrites do not count as a change to what is measured.
        dirty = _git(
            repo,
            "status",
            "--porcelain",
            "--untracked-files=no",
            "--",
            ".",
            *(f":(exclude){path}" for path in REWRITTEN_BY_A_RUN),
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head} (with uncommitted changes)" if dirty else head


def load_average() -> str:
    """The 1, 5 and 15 minute load averages: how busy the shared machine was."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def describe(repo: Path) -> dict[str, str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    facts = {
        "CPU": _cpu_model(),
        "cores": f"{usable} usable ({os.cpu_count()} online)",
        "memory": _memory(),
        "kernel": f"{platform.system()} {platform.release()}",
        # The interpreter's version, not its path: a path names the machine that ran it.
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "load generator": wrk_version(),
        "revision": _git_revision(repo),
    }
    facts.update({package: _version(package) for package in PACKAGES})
    return facts
