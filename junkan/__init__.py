"""junkan (循環): edge data capture for recycling plants.

``junkan.core`` is the ground floor every package imports (wire protocol, typed documents, config
primitives); the rest of ``junkan`` (CLI, demo, plant-in-a-box) is the top floor that wires the
agent, the gateway and the simulators together. See docs/architecture.md.
"""

__version__ = "0.1.0"
