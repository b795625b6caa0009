"""Composition evidence per output lot: build (JSON), render (HTML/PDF), map (EPCIS, UNTP, Catena-X), sign."""
