"""Scale and indicator simulators: one physical platform model, one encoder per protocol."""
