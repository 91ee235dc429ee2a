"""The DAG scheduler: a pure core (``transitions``, ``core``) that turns events into
instructions, and a thin async shell (``loop``) that reads the store, calls the core, writes
the results in one transaction and drives the executor."""
