"""Outbound delivery of evidence: EPCIS 2.0 capture client and HMAC-signed recycler webhooks, via a durable outbox."""
