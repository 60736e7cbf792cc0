"""Platform: what every domain uses -- the audit trail, field encryption, the email outbox,
notification events, housekeeping. Imports no other service package."""
