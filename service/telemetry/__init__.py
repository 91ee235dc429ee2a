"""What bcsd tells its operators: Prometheus metrics (``metrics.py`` the instruments,
``store_figures.py`` the figures read from the store at scrape time, ``scheduler_figures.py`` the
hooks that read the scheduler), the per-request middleware (``requests.py``: metrics, access
log, request id) and the log format (``log_format.py``)."""
