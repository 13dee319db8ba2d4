"""`make bench`: measured figures for docs/scaling.md (ratios against a baseline in the same process)."""
