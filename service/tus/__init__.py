"""Resumable uploads (tus 1.0): upload rows, their files, PATCH bodies, expiry, and jobs
made from finished uploads."""
