"""Clients: records, find-client, visibility, edit rights, merge, households, contacts.
May import ``identity`` and ``platform``."""
