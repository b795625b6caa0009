"""Handheld XRF analysers: one simulator module per driver (``vanta_csv``, ``niton_csv``)."""
