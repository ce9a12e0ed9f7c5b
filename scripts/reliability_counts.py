"""Count what scripts/reliability's test run showed, from its JUnit XML report.

  python scripts/reliability_counts.py junit.xml [--write]

Prints the counts; --write puts them in docs/reliability.md, between the NUMBERS markers.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "reliability.md"
BEGIN, END = "<!-- NUMBERS:BEGIN (scripts/reliability --write) -->", "<!-- NUMBERS:END -->"

# Which tests count as what. A test id is "module::name[params]".
FAULT_TESTS = re.compile(
    r"test_faults\.py::|"
    r"test_web_servers\.py::test_sig\w+_lets_the_requests_in_flight_finish|"
    r"test_granian\.py::test_stop_signal_lets_the_requests_in_flight_finish|"
    r"test_granian\.py::test_application_import_error_stops_before_workers|"
    r"test_granian\.py::test_port_in_use|"
    r"test_workers\.py::test_\w+_finishes_its_task_on_sigterm|"
    r"test_workers\.py::test_\w+_runs_(a_task|tasks_from_both_listed_queues)"
)
IN_FLIGHT_TESTS = re.compile(r"lets_the_requests_in_flight_finish")
REQUESTS_PER_TEST = 5  # IN_FLIGHT in those tests


def outcomes(report: Path) -> dict[str, str]:
    results = {}
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").rpartition(".")[2]
        test_id = f"{module}.py::{case.get('name')}"
        failed = case.find("failure") is not None or case.find("error") is not None
        skipped = case.find("skipped") is not None
        results[test_id] = "failed" if failed else "skipped" if skipped else "passed"
    return results


def counts(results: dict[str, str]) -> dict[str, int]:
    bad = {k: v for k, v in results.items() if "test_bad_input_is_one_line" in k}
    faults = {k: v for k, v in results.items() if FAULT_TESTS.search(k)}
    in_flight = {k: v for k, v in results.items() if IN_FLIGHT_TESTS.search(k)}
    failed_in_flight = sum(1 for v in in_flight.values() if v == "failed")
    return {
        "bad inputs tried": len(bad),
        "bad inputs rejected in one line, nothing started": sum(
            v == "passed" for v in bad.values()
        ),
        "faults injected": len(faults),
        "faults survived": sum(v == "passed" for v in faults.values()),
        "requests in flight at a stop signal": len(in_flight) * REQUESTS_PER_TEST,
        # A failed in-flight test may have lost all of its requests: counted as lost.
        "requests lost": failed_in_flight * REQUESTS_PER_TEST,
        "tests failed": sum(v == "failed" for v in results.values()),
    }


def main() -> None:
    report, write = Path(sys.argv[1]), "--write" in sys.argv[2:]
    numbers = counts(outcomes(report))
    lines = [f"| {name} | {value} |" for name, value in numbers.items()]
    table = "\n".join(["| what | count |", "|---|---|", *lines])
    print(table)
    if write:
        text = DOC.read_text()
        start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
        DOC.write_text(text[:start] + "\n" + table + "\n" + text[end:])
        print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
