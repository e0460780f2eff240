"""`audit-engine history` and `audit-engine trend` (findings store)."""
