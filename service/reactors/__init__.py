"""The job's end of life: purge uploads once processing ends, expire jobs, delete outputs."""
