"""Audits of the log: readable job histories, hash-chain checks, the view against a replay."""
