"""Runnable examples of the SDK."""
