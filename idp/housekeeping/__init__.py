"""Background housekeeping run by the serving processes: session expiry and retention."""
