"""`foley eval`: the benchmarks that measure a model (see `sync` for the synchronisation benchmark)."""
