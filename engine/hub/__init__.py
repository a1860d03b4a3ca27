"""The hub: Applications kept in sync on many clusters by one long-running process.

``hub.Hub`` builds the parts and runs them. Which targets exist: ``catalog`` (from the app
sources; ``appsources`` reads Git entries when their poller says so), ``clusters`` (the
registered clusters), ``follower`` (reloads both while the hub runs). One reconcile:
``reconciler`` (named steps), ``decisions`` (sync or compare, pure), ``failures`` (step and
error to a condition, pure), ``report`` (what it returns), ``status`` (results to stored
statuses, pure), ``statuses`` (the one writer of statuses), ``automation`` (rollback's
switch). Around it: ``runtime`` (requests, dirty targets, reports to poller, watcher and
metrics; the watches of drift and health are ``engine.clusters.watch``), ``trees``
(commit trees on disk), ``metrics`` (counters), ``controller`` (the API's
``HubControl``), ``wiring`` (``fleetsync.yaml`` settings to objects).
"""
