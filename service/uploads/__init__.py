"""Upload intake: stream multipart videos to disk, sniff their container, record the job."""
