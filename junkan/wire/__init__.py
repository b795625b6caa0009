"""The MQTT wire protocol shared by edge agents and gateways: topics and versioned message schemas."""
