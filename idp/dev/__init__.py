"""Development stand-ins, never used in production: demo data, a dev CA, an app simulator, a face provider."""
