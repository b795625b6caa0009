"""junkan (循環): edge data capture for recycling plants.

``junkan.core`` is the ground floor every package imports (wire protocol, typed documents, config
primitives); the rest of ``junkan`` (CLI, demo, plant-in-a-box) is the top floor that wires the
agent, the gateway and the simulators together. See docs/architecture.md.
"""

from importlib.metadata import PackageNotFoundError, version

try:  # the version lives in one place: pyproject.toml, via the installed package's metadata
    __version__ = version("junkan")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
