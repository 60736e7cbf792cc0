"""Open Coordinated Access System (CAS) API."""
