"""The download: a deterministic STORE ZIP of a job's outputs, served whole or by byte range."""
