"""The collection policy document bundled with the layer (a byte-identical copy of infrastructure/config/)."""
