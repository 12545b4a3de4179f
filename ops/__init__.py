"""The operator's view of the exchange: Prometheus metrics, the monthly report, charts,
structured logs."""
