"""Device and plant simulators. Simulators encode; they never import a driver's parser."""
