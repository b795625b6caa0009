"""Production broker setup: TLS, per-agent credentials and ACLs."""
