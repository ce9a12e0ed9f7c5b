"""The module docs/plugins.md walks through is this package's, as these tests run it."""

from __future__ import annotations

from pathlib import Path

import prodserver_cheroot
import pytest

PLUGINS_PAGE = Path(__file__).resolve().parents[3] / "docs" / "plugins.md"


@pytest.mark.skipif(not PLUGINS_PAGE.exists(), reason="outside django-prodserver's repository")
def test_the_documented_module_is_this_one() -> None:
    page = PLUGINS_PAGE.read_text()
    documented = page.split("```python\n", 1)[1].split("```\n", 1)[0]
    assert documented == Path(prodserver_cheroot.__file__).read_text()


def test_it_is_under_60_lines_of_code() -> None:
    lines = Path(prodserver_cheroot.__file__).read_text().splitlines()
    in_docstring = False
    code = 0
    for line in (line.strip() for line in lines):
        quotes = line.count('"""')
        if in_docstring or quotes:
            in_docstring = in_docstring != (quotes % 2 == 1)
            continue
        code += bool(line) and not line.startswith("#")
    assert code < 60
