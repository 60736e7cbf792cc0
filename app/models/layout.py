"""Where each table lives in a CoC-sharded deployment (Citus, distributed by ``coc_id``).

Every table not named here holds one CoC's data and has a NOT NULL ``coc_id`` (a foreign key to
``cocs``): it is *distributed* by ``coc_id``. ``tests/test_coc_scoping.py`` inspects the live
schema and fails when a table has neither that column nor a place below, with its reason.
"""

from __future__ import annotations

# Small, read everywhere, joined to distributed tables: replicated to every node.
REFERENCE_TABLES: dict[str, str] = {
    "cocs": "The CoCs themselves: the distribution key's own table.",
    "alembic_version": "The schema's migration head (one row).",
    "users": "A person's account: one email across the deployment, members of organizations "
    "in any CoC (their memberships are distributed). Distributed tables name users (who "
    "recorded, who is assigned) by foreign key, which Citus keeps only to a reference table.",
}

# Deployment-wide tables kept on the coordinator (Citus "local" tables): not one CoC's data, or
# keyed by something that spans CoCs. Statements on them never join distributed tables.
GLOBAL_TABLES: dict[str, str] = {
    "one_time_tokens": "Invitation and password-reset tokens of a user (global, like users).",
    "notification_preferences": "A user's own settings (global, like users).",
    "email_outbox": "The delivery queue of emails to users (password resets have no CoC).",
    "idempotency_records": "Replays keyed by the caller's scope (user and organization); "
    "short-lived.",
    "rate_limit_buckets": "Rate-limit budgets (per client address, email, user); UNLOGGED, "
    "short-lived.",
    "jobs": "The background job queue: scheduled deployment-wide jobs have no CoC (coc_id is "
    "set, nullable, on the CoC's jobs).",
    "audit_events": "The audit trail: sign-in events may have no CoC (coc_id is set, nullable, "
    "whenever there is one); append-only.",
}

# Foreign keys a CoC-sharded deployment drops before distributing (Citus keeps none from a
# local or reference table to a distributed one); the application does not rely on them.
FOREIGN_KEYS_TO_DROP: dict[tuple[str, str], str] = {
    ("audit_events", "organizations"): "The acting organization of an audit event (the audit "
    "trail is append-only and organizations are never deleted: the key guards nothing the "
    "service does).",
}
