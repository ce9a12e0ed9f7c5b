"""Count what scripts/reliability's test run showed, from its JUnit XML report.

  python scripts/reliability_counts.py junit.xml [--write]

Prints the counts; --write puts them in docs/reliability.md, between the NUMBERS markers and
between the BAD-INPUTS markers (the bad-input table by backend and mode, which reads the rows of
tests/integration/test_bad_inputs.py to know each row's backend and what --dry-run should say).
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- NUMBERS:BEGIN (scripts/reliability --write) -->", "<!-- NUMBERS:END -->"
BAD_BEGIN = "<!-- BAD-INPUTS:BEGIN (scripts/reliability --write) -->"
BAD_END = "<!-- BAD-INPUTS:END -->"
STOPS_BEGIN = "<!-- STOPS:BEGIN (scripts/reliability --write) -->"
STOPS_END = "<!-- STOPS:END -->"

# Which tests count as what. A test id is "module::name[params]".
BAD_INPUT_TEST = re.compile(r"test_bad_input_is_one_line\w*\[(dry-run|start)-(.+)\]$")
FAULT_TESTS = re.compile(
    r"test_faults\.py::|"
    r"test_web_servers\.py::test_sig\w+_lets_the_requests_in_flight_finish|"
    r"test_granian\.py::test_stop_signal_lets_the_requests_in_flight_finish|"
    r"test_granian\.py::test_application_import_error_stops_before_workers|"
    r"test_granian\.py::test_port_in_use|"
    r"test_workers\.py::test_\w+_finishes_its_task_on_sigterm|"
    r"test_workers\.py::test_\w+_runs_(a_task|tasks_from_both_listed_queues)"
)
# The tests that send a stop signal with requests in flight, and how many each sends.
IN_FLIGHT_TESTS = (
    (re.compile(r"lets_the_requests_in_flight_finish"), 5),  # IN_FLIGHT
    (re.compile(r"lets_twenty_requests_(in_flight_)?finish"), 20),  # MANY_IN_FLIGHT
    (re.compile(r"test_sighup_is_a_graceful_stop|sighup_replaces_the_workers"), 20),
    (re.compile(r"s_idle_worker_does_not_cut_off_the_busy_one"), 1),
)
#: The servers of the in-flight tests, as their ids name them; the compatibility class paths
#: are the same server as the alias.
SERVERS = {
    "GranianWSGIServer": "granian-wsgi",
    "GranianASGIServer": "granian-asgi",
    **{
        name: name
        for name in (
            "granian-wsgi",
            "granian-asgi",
            "uvicorn-wsgi",
            "gunicorn",
            "uvicorn",
            "waitress",
            "hypercorn",
            "daphne",
        )
    },
}
SIGNALS = {"15": "SIGTERM", "2": "SIGINT", "1": "SIGHUP"}
# A signal is in a test's id as a parameter (its number) or as a word of the name ("sigint").
WORD_SIGNALS = {**SIGNALS, **{name.lower(): name for name in SIGNALS.values()}}


def _requests_in_flight(test_id: str) -> int:
    return next((count for test, count in IN_FLIGHT_TESTS if test.search(test_id)), 0)


def outcomes(report: Path) -> dict[str, str]:
    results = {}
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").rpartition(".")[2]
        test_id = f"{module}.py::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped")
        if failed:
            results[test_id] = "failed"
        elif skipped is not None:
            # An xfail(strict) row, waiting for a fix on another branch, or a skipped test.
            results[test_id] = "xfail" if "xfail" in skipped.get("type", "") else "skipped"
        else:
            results[test_id] = "passed"
    return results


def stop_of(test_id: str) -> tuple[str, str]:
    """The server and the stop signal of an in-flight test, from its name and parameters."""
    name, _, params = test_id.partition("[")
    words = [*params.rstrip("]").split("-"), *name.split("_")]
    server = next(
        (alias for key, alias in SERVERS.items() if key in params or f"_{key}_" in name), "?"
    )
    signals = [WORD_SIGNALS[word.lower()] for word in words if word.lower() in WORD_SIGNALS]
    # The tests named for draining, with no signal in their name, send SIGTERM.
    signal = signals[0] if signals else "SIGTERM"
    if "process_group" in name:
        signal += " to the process group"
    return server, signal


def stops_by_server(results: dict[str, str]) -> list[list[str]]:
    """One line per server and signal: requests in flight at the stop, and how many were lost."""
    sent: dict[tuple[str, str], list[int]] = {}
    for test_id, result in results.items():
        count = _requests_in_flight(test_id)
        if count and result != "skipped":
            tally = sent.setdefault(stop_of(test_id), [0, 0])
            tally[0] += count
            tally[1] += count if result == "failed" else 0
    return [[server, sig, str(n), str(lost)] for (server, sig), (n, lost) in sorted(sent.items())]


def counts(results: dict[str, str]) -> dict[str, int]:
    bad = {k: v for k, v in results.items() if BAD_INPUT_TEST.search(k)}
    # A skipped fault test (the soak without wrk) injected nothing.
    faults = {k: v for k, v in results.items() if FAULT_TESTS.search(k) and v != "skipped"}
    in_flight = {k: v for k, v in results.items() if _requests_in_flight(k)}
    return {
        "bad inputs tried (each row in --dry-run and started)": len(bad),
        "answered as they must (one line, or a --dry-run that starts nothing)": sum(
            v == "passed" for v in bad.values()
        ),
        "faults injected": len(faults),
        "faults survived": sum(v == "passed" for v in faults.values()),
        "requests in flight at a stop signal": sum(map(_requests_in_flight, in_flight)),
        # A failed in-flight test may have lost all of its requests: counted as lost.
        "requests lost": sum(_requests_in_flight(k) for k, v in in_flight.items() if v == "failed"),
        "tests failed": sum(v == "failed" for v in results.values()),
    }


def by_backend(results: dict[str, str]) -> list[list[str]]:
    """One line per backend: its rows, and how each mode answered them."""
    sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "fixtures" / "project")]
    from tests.integration.test_bad_inputs import (
        BACKENDS,
        DRY_RUN_PASSES,
        ROWS,
        SETTING,
        backend_of,
    )

    outcome = {}
    for test_id, result in results.items():
        found = BAD_INPUT_TEST.search(test_id)
        if found:
            outcome[found.group(2), found.group(1)] = result
    lines = []
    for backend in [*BACKENDS, SETTING]:
        rows = [row for row in ROWS if backend_of(row) == backend]
        cells = {name: 0 for name in ("one line", "passes", "start", "failed")}
        for row in rows:
            for mode in ("dry-run", "start"):
                result = outcome.get((row.id, mode), "not run")
                if result == "passed":
                    if mode == "start":
                        cells["start"] += 1
                    elif row.dry_run == DRY_RUN_PASSES:
                        cells["passes"] += 1
                    else:
                        cells["one line"] += 1
                elif result in ("xfail", "failed"):  # a strict xfail row counts as failed
                    cells["failed"] += 1
        lines.append([backend, str(len(rows)), *(str(count) for count in cells.values())])
    total = [sum(int(line[i]) for line in lines) for i in range(1, 6)]
    return [*lines, ["**all**", *(f"**{count}**" for count in total)]]


def _table(header: list[str], lines: list[list[str]]) -> str:
    rows = [header, ["---"] * len(header), *lines]
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _replace(text: str, begin: str, end: str, table: str) -> str:
    start, stop = text.index(begin) + len(begin), text.index(end)
    return text[:start] + "\n" + table + "\n" + text[stop:]


def main() -> None:
    report, write = Path(sys.argv[1]), "--write" in sys.argv[2:]
    results = outcomes(report)
    numbers = _table(["what", "count"], [[name, str(n)] for name, n in counts(results).items()])
    backends = _table(
        [
            "backend",
            "rows",
            "--dry-run: one line",
            "--dry-run: passes, caught at start",
            "start: one line, nothing left running",
            "failed",
        ],
        by_backend(results),
    )
    stops = _table(
        ["server", "signal", "requests in flight", "requests lost"], stops_by_server(results)
    )
    print(numbers, backends, stops, sep="\n\n")
    if write:
        text = _replace(DOC.read_text(), BEGIN, END, numbers)
        text = _replace(text, BAD_BEGIN, BAD_END, backends)
        DOC.write_text(_replace(text, STOPS_BEGIN, STOPS_END, stops))
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
