"""The Pulumi side of bcs-gitops: planner, HTTP client, dynamic providers and resources.

Importing this package has no side effects; ``provider.resources`` (which imports pulumi) is
imported on demand by the stacks program.
"""
