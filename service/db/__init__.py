"""PostgreSQL plumbing: which server, the connection pool, migrations."""
