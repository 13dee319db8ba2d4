"""Collection outcomes of a run or of production: SQL figures, statistics, and the HTML report."""
