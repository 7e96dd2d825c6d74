"""The resolver's caches: L1 in process, L2 in Redis, and the coherence that keeps them honest."""
