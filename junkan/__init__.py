"""junkan (循環): edge data capture for recycling plants — shared wire protocol and the `junkan` CLI."""

__version__ = "0.1.0"
