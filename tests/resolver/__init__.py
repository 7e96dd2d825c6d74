"""Tests of `resolver`."""
