"""Documents: Document Check, Client Files, the checklist, uploads and retention.
May import ``ce``, ``clients``, ``identity`` and ``platform``."""
