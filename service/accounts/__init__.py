"""Accounts: users, password hashes, bearer tokens and the login limiter."""
