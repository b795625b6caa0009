"""Process graph (intake, dismantling, shredding, sorting, regeneration), mass balance and lineage."""
