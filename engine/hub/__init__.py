"""The hub: Applications kept in sync on many clusters by one long-running process.

``hub.Hub`` wires and runs everything (and is the API's ``HubControl``); ``catalog`` says
which (app, cluster) targets exist; ``reconciler`` is the reconcile of one target, step by
step; ``live`` watches what the targets manage (drift and health); ``trees`` writes each
commit once for the renderer; ``status`` turns results into what the store keeps;
``wiring`` maps ``fleetsync.yaml`` settings to objects.
"""
