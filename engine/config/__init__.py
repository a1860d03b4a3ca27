"""The operator's files, one module per format (parsing and validation, no network).

``hub``: ``fleetsync.yaml``, the hub's own configuration. ``clusters``: ``clusters.yaml``,
the registered clusters, and where ``fleetsync local up`` writes one. ``documents``: the
guarded YAML reader both use. (Applications and AppProjects are ``engine.apps``'.)
"""
