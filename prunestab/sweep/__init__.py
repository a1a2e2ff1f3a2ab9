"""Getting runs computed: one run or many, here, in worker processes or on a cluster."""
