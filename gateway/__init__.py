"""The gateway: consumes agent messages, stores them, serves the REST API, builds evidence."""
