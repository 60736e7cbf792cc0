"""Rate limits: a hit's time is read once the bucket's row is locked

Revision ID: 0022_rate_limit_clock
Revises: 0021_import_staging
Create Date: 2026-12-01 19:10:00.000000

``cas_rate_limit_hit`` read the clock before it waited for the bucket's row lock. A hit that
waited behind another could then see that other hit, recorded later, as newer than its own
"now", and answer a wait longer than the window. The time is now read after the lock is held,
so the hits of one bucket are stamped in the order they are counted.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0022_rate_limit_clock"
down_revision: str | Sequence[str] | None = "0021_import_staging"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _function(now_after_lock: bool) -> str:
    clock = "now_ := clock_timestamp();" if now_after_lock else ""
    declare = "now_ timestamptz;" if now_after_lock else "now_ timestamptz := clock_timestamp();"
    expires = "clock_timestamp()" if now_after_lock else "now_"
    return f"""
        CREATE OR REPLACE FUNCTION cas_rate_limit_hit(
            p_key text, p_limit integer, p_window double precision,
            OUT wait_seconds double precision, OUT hit_at timestamptz
        ) LANGUAGE plpgsql AS $$
        DECLARE
            {declare}
            kept timestamptz[];
        BEGIN
            INSERT INTO rate_limit_buckets (key, hits, expires_at)
            VALUES (p_key, '{{}}', {expires} + make_interval(secs => p_window))
            ON CONFLICT (key) DO NOTHING;
            SELECT b.hits INTO kept FROM rate_limit_buckets AS b WHERE b.key = p_key FOR UPDATE;
            {clock}
            SELECT coalesce(array_agg(h ORDER BY h), '{{}}') INTO kept
            FROM unnest(kept) AS h WHERE h > now_ - make_interval(secs => p_window);
            IF cardinality(kept) >= p_limit THEN
                wait_seconds := greatest(
                    p_window - extract(epoch FROM now_ - kept[1]), 0);
                hit_at := NULL;
                UPDATE rate_limit_buckets SET hits = kept WHERE key = p_key;
            ELSE
                wait_seconds := NULL;
                hit_at := now_;
                UPDATE rate_limit_buckets
                SET hits = kept || now_, expires_at = now_ + make_interval(secs => p_window)
                WHERE key = p_key;
            END IF;
        END $$
        """


def upgrade() -> None:
    op.execute(_function(now_after_lock=True))


def downgrade() -> None:
    op.execute(_function(now_after_lock=False))
