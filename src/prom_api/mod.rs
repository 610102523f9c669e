//! A remote Prometheus-compatible server queried over its HTTP API.
