"""The edge agent: reads plant devices, turns readings into lots, delivers them durably over MQTT."""
