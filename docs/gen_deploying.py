"""Fill the exported files shown in docs/deploying.md from the example project.

    python docs/gen_deploying.py            # (re)write the blocks in docs/deploying.md
    python docs/gen_deploying.py --check    # exit 1 if a block differs from the export

Each block follows a marker ``<!-- export: ARGUMENTS -->`` and holds what
``python manage.py prodserver --export ARGUMENTS`` prints in ``examples/project/``. Paths of this
checkout and its interpreter are shown as a server would have them: the project in
``/srv/exampleproject`` and its virtual environment in ``/srv/exampleproject/.venv``.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
PAGE = DOCS / "deploying.md"
EXAMPLE_DIR = DOCS.parent / "examples" / "project"
SHOWN_PROJECT = "/srv/exampleproject"
SHOWN_PYTHON = f"{SHOWN_PROJECT}/.venv/bin/python"
BLOCK = re.compile(r"(<!-- export: (?P<args>[^>]*?) -->\n```[a-z]*\n)(?P<body>.*?)(```)", re.S)
SETTING = re.compile(r"<!-- example: PRODUCTION_PROCESSES -->\n```python\n(?P<body>.*?)```", re.S)


def exported(arguments: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env.pop("PORT", None)
    env.pop("WEB_CONCURRENCY", None)
    done = subprocess.run(
        [sys.executable, "manage.py", "prodserver", "--export", *shlex.split(arguments)],
        cwd=EXAMPLE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise ExportFailed(f"--export {arguments} failed: {done.stderr.strip()}")
    # The interpreter first: it may live inside the checkout.
    text = done.stdout.replace(os.path.abspath(sys.executable), SHOWN_PYTHON)  # noqa: PTH100
    return text.replace(str(EXAMPLE_DIR), SHOWN_PROJECT)


class ExportFailed(Exception):
    pass


def setting_problem(page: str) -> str | None:
    """Why the page's copy of the example's PRODUCTION_PROCESSES differs from the settings."""
    shown = SETTING.search(page)
    if shown is None:
        return "no PRODUCTION_PROCESSES block after its marker"
    settings = (EXAMPLE_DIR / "exampleproject" / "settings.py").read_text()
    start = settings.index("PRODUCTION_PROCESSES = ")
    actual = ast.literal_eval(settings[start:].partition("= ")[2])
    written = ast.literal_eval(shown.group("body").partition("= ")[2])
    if actual != written:
        return f"the page shows PRODUCTION_PROCESSES = {written!r}, the example has {actual!r}"
    return None


def rendered(page: str, failures: list[str]) -> str:
    """``page`` with each block exported again; a block whose export fails is kept, and the
    failure added to ``failures``."""

    def block(match: re.Match[str]) -> str:
        try:
            return match.group(1) + exported(match.group("args")) + match.group(4)
        except ExportFailed as e:
            failures.append(str(e))
            return match.group(0)

    return BLOCK.sub(block, page)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    options = parser.parse_args(argv)
    page = PAGE.read_text()
    failures: list[str] = []
    new = rendered(page, failures)
    problem = setting_problem(page)
    if problem:
        failures.append(f"{PAGE}: {problem}; copy the example's setting")
    for failure in failures:
        print(failure, file=sys.stderr)
    if options.check:
        if failures:
            return 1
        if new != page:
            print(f"{PAGE} is out of date: run python docs/gen_deploying.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(new)
    print(f"wrote {PAGE}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
