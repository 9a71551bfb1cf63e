"""Prometheus metrics: one registry per process (`catalogue.py`), figures read from the
database at scrape time (`refresh.py`), and the `/metrics` endpoint (`endpoint.py`)."""
