"""Helpers shared by the tests and the load tests: local clusters (``clusters``), git
daemons and upstream repositories (``git_remotes``), hub directories and a running hub
(``hubkit``)."""
