"""Live streams: one shared reader of the log per process fans job events (and render
progress) out to Server-Sent Event streams, each resumable from a log position."""
