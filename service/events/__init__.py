"""The event log: event models, the store, commit-order reading, change notification."""
