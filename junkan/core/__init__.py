"""The shared, typed core: what the agent, the gateway and the simulators all speak.

Wire protocol (``topics``, ``messages``), reading kinds (``readings``), the lot measurement
(``measurement``, ``stats``: pure functions; ``measurement_model``: the typed ``Measurement`` document;
``lot_evidence``: what an open lot keeps of its readings), the composition evidence document
(``evidence``), their JSON Schemas (``schemas``), config primitives (``config``, ``mqtt``), ids and names.
Nothing here imports ``edge_agent``, ``gateway``, ``simulators`` or the top-level CLI (import-linter
contract in pyproject.toml).
"""
