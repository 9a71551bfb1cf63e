"""Read models fed from the log: the job state fold, the job view, the subscription runner."""
