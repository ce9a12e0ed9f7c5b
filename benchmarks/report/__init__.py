"""A run's figures as docs/performance.md: ``page`` puts it together from the sections of
each subject (``startup``, ``load``, ``memory``, ``registry``), built with ``markdown`` and
``charts``."""
