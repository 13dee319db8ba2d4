"""The collection policy and rule-pack documents the layer ships (the only copies in the tree)."""
