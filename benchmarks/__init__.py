"""Benchmarks of django-prodserver against the servers' own command lines.

``python -m benchmarks.run`` measures every subject below and writes docs/performance.md. The
subpackages, by subject; each imports only ``harness`` and the subjects above it:

- ``harness``: the example project in a temporary directory, server processes, wrk, ``/proc``
  readers, medians and ratios, targets, the machine's description
- ``startup``: time to the first 200, its phases, the first request after a warm-up
- ``load``: throughput, the request path, the soak, Granian's thread pool, workers' balance,
  static files
- ``memory``: each server's footprint, before and after a full garbage collection
- ``registry``: the cost of finding backends and of the app in ``INSTALLED_APPS``
- ``report``: the Markdown page (``page``), its sections by subject and its charts, from the
  ``run_results`` of a run
"""
