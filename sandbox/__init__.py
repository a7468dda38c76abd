"""Local fake servers of the channels (loopback), for tests, benchmarks and `antq sandbox`."""
