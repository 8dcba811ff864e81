"""The core every feature builds on: settings, database, clock, languages, logs and metrics; it imports no feature."""
