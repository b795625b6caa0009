"""The plant dashboard served by the gateway: lines, lots, alarms, unmatched products (docs/dashboard.md)."""
