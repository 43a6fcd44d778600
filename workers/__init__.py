"""Background work: RQ jobs (thin functions taking ids), the queues they run on, and the worker process."""
