"""Where uploads and outputs live: one object-storage interface, a local-disk backend (the
default) and an S3 backend, so every role can run on its own machine against one bucket."""
