"""What every benchmark uses: the example project, server processes, wrk and ``/proc``, and
the statistics and targets the report is built from."""
