"""Training one run with iterative pruning, and the measurements the paper makes of it."""
