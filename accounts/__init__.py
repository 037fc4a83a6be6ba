"""Accounts: lockout, password rules and changes, idle sessions and the second factor (docs/security.md)."""
