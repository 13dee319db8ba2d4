"""Use cases: one per handler, wiring the pure domain to the adapters."""
