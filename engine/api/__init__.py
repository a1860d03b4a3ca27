"""The hub's HTTP side: REST API, dashboard, metrics and the Git webhook receiver."""
