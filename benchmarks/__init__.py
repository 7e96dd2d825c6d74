"""idnode's benchmarks: data generators, load scenarios and the runs that produce the published figures."""
