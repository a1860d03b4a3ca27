"""fleetsync: a GitOps hub that keeps a fleet of Kubernetes clusters in the state Git declares."""

__version__ = "0.1.0"
