"""Runtime configuration: environment validated once per container."""
