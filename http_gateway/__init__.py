"""HTTP gateway: validates and authenticates, sends writes as commands, reads from PostgreSQL."""
