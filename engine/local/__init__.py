"""Real local Kubernetes control planes (clusters/local) for the demo, the tests and the load tests.

``toolchain`` builds the pinned binaries, ``pki`` makes each cluster's CA and certificates,
``controlplane`` starts and checks the processes of one cluster, ``fleet`` manages a directory
of clusters (``fleetsync local up|down|status``).
"""
