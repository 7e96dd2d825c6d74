"""idnode's tests: they mirror the packages; integration tests use real PostgreSQL, sockets and processes."""
