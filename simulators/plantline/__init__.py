"""Whole-line scenarios: products -> dismantling -> shredding -> NIR sorting -> output containers, with truth."""
