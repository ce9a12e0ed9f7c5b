"""The report's registry section: finding backends, and the app in INSTALLED_APPS."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..harness.stats import median
from ..registry import lookup_cost
from .markdown import code, ms, ms_fine, ratio, table

if TYPE_CHECKING:
    from ..run_results import Results


def registry_section(results: Results) -> str:
    rows = []
    for cost in results.registry:
        rows.append(
            [
                cost.size,
                cost.total_distributions,
                ms_fine(median(cost.seconds["resolve-alias"])),
                ms_fine(median(cost.seconds["describe"])),
                ms(median(cost.command_seconds)),
                ms_fine(median(cost.seconds["resolve-dotted"])),
                f"{cost.scans.get('resolve-dotted', '?')} / {cost.scans.get('resolve-alias', '?')}",
            ]
        )
    import_rows = [
        [
            code(cost.command),
            ms(cost.median("with the app")),
            ms(cost.median("without the app")),
            ratio(cost.ratio),
        ]
        for cost in results.imports
    ]
    loaded = "\n".join(
        f"- {variant}: {', '.join(code(module) for module in modules) or 'none'}"
        for variant, modules in results.help_modules.items()
    )
    return (
        "## 5. Registry cost\n\n"
        "Each figure is the median over fresh interpreters (the registry reads metadata at most "
        "once per process). Synthetic distributions are `*.dist-info` folders on an extra "
        f"`sys.path` entry: one in {lookup_cost.PLUGIN_EVERY} registers a backend in the "
        "`django_prodserver.backends` group, one in three of the rest has an `entry_points.txt` "
        "of another group only; they "
        'come on top of the benchmark environment\'s own distributions (the "total" column). '
        '"resolve alias" resolves `waitress` twice (the second must not scan again), including '
        'the import of the backend module; "describe" is `registry.describe_backends()`, the work '
        "of `--list-backends`, which imports every registered backend; the command column is the "
        'whole `manage.py prodserver --list-backends` process. "resolve dotted" resolves '
        "`django_prodserver.backends.waitress.WaitressServer` and the `module:Class` form; "
        '"scans" counts calls of `entry_points._distributions` (dotted / alias).\n\n'
        + table(
            [
                "synthetic distributions",
                "total",
                "resolve alias",
                "describe",
                "`--list-backends` command",
                "resolve dotted",
                "scans",
            ],
            rows,
        )
        + "\n\n### The app in INSTALLED_APPS\n\n"
        "Fresh interpreters from `examples/project/`, with the example's settings and with the "
        "same settings minus `django_prodserver`, interleaved; ratio = with / without.\n\n"
        + table(["command", "with the app", "without the app", "ratio"], import_rows)
        + "\n\nModules of this package, and `importlib.metadata`, that `manage.py help` imports "
        "(from `-X importtime`; another installed app may import `importlib.metadata` too):\n\n"
        + loaded
        + "\n"
    )
