"""Tests of the resolver's caches."""
