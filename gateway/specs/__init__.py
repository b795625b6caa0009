"""Buyers' requirement specifications for recycled material (RMP step ①) and lot conformance."""
