"""Tests of `registry`."""
