"""HTTP routes of bcsd, one module per resource family (jobs, tasks/instances, clusters, misc)."""
