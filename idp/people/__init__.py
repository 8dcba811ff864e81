"""People and their credentials: registration, recovery, the account centre, imports."""
