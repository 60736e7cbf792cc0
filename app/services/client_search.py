"""Find client and duplicate detection, without database extensions.

Each client row carries, per name, a normalized form (lower-case letters only), a metaphone key
and a soundex key in indexed columns. A search turns the query into the same keys, fetches the
candidates sharing a key, a 3-letter prefix, the DOB, the SSN (last 4) hash or the id -- only
among clients the caller may see -- and ranks them in Python with Jaro-Winkler similarity
(rapidfuzz) plus phonetic agreement (jellyfish). "Jon Smyth" finds "John Smith": both names share
their metaphone keys (JN, SM0).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

import jellyfish
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.context import Actor
from app.models import Client
from app.schemas.clients import ClientSearch, ClientSearchHit, DuplicateCandidate
from app.services import client_access, crypto

CANDIDATE_LIMIT = 500
SEARCH_THRESHOLD = 55.0
DUPLICATE_THRESHOLD = 80.0
DUPLICATE_LIMIT = 10

_NOT_LETTERS = re.compile(r"[^a-z]")


def normalize_name(value: str | None) -> str | None:
    """Lower-case ASCII letters only ("O'Brien-Núñez" -> "obriennunez")."""
    if not value:
        return None
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    norm = _NOT_LETTERS.sub("", ascii_.lower())[:60]
    return norm or None


def name_keys(value: str | None) -> tuple[str | None, str | None, str | None]:
    """(normalized, metaphone, soundex) for one name."""
    norm = normalize_name(value)
    if norm is None:
        return None, None, None
    return norm, jellyfish.metaphone(norm)[:60] or None, jellyfish.soundex(norm)[:10] or None


def name_similarity(query: str | None, candidate: str | None) -> float:
    """0-100: Jaro-Winkler of the normalized names, at least 90 when they sound alike."""
    q, c = normalize_name(query), normalize_name(candidate)
    if not q or not c:
        return 0.0
    score = JaroWinkler.normalized_similarity(q, c) * 100
    if q != c and jellyfish.metaphone(q) == jellyfish.metaphone(c):
        score = max(score, 90.0)
    return score


def split_name(name: str) -> tuple[str | None, str | None, list[str]]:
    """(first, last, all tokens) from "First Last", "Last, First" or a single name."""
    if "," in name:
        last, _, first = name.partition(",")
        tokens = [t for t in re.split(r"\s+", f"{first} {last}".strip()) if t]
        first_tokens = first.split()
        return (first_tokens[0] if first_tokens else None), (last.strip() or None), tokens
    tokens = [t for t in re.split(r"\s+", name.strip()) if t]
    if len(tokens) >= 2:
        return tokens[0], tokens[-1], tokens
    return None, None, tokens


def dob_similarity(query: date, candidate: date | None) -> tuple[float, str | None]:
    if candidate is None:
        return 0.0, None
    if query == candidate:
        return 100.0, "same date of birth"
    if query.year == candidate.year and (query.month, query.day) == (
        candidate.day,
        candidate.month,
    ):
        return 80.0, "date of birth with month and day swapped"
    if (query.month, query.day) == (candidate.month, candidate.day) and abs(
        query.year - candidate.year
    ) == 1:
        return 70.0, "date of birth one year apart"
    if query.year == candidate.year and (
        query.month == candidate.month or query.day == candidate.day
    ):
        return 60.0, "date of birth close"
    return 0.0, None


@dataclass
class _Score:
    parts: list[tuple[float, float]] = field(default_factory=list)  # (weight, score 0-100)
    reasons: list[str] = field(default_factory=list)

    def add(self, weight: float, score: float, reason: str | None) -> None:
        self.parts.append((weight, score))
        if reason:
            self.reasons.append(reason)

    @property
    def total(self) -> float:
        weights = sum(w for w, _ in self.parts)
        return round(sum(w * s for w, s in self.parts) / weights, 1) if weights else 0.0


def _name_score(
    first: str | None, last: str | None, tokens: list[str], client: Client
) -> tuple[float, str | None]:
    if first and last:
        straight = (
            name_similarity(first, client.first_name) + name_similarity(last, client.last_name)
        ) / 2
        swapped = (
            0.95
            * (name_similarity(first, client.last_name) + name_similarity(last, client.first_name))
            / 2
        )
        score = max(straight, swapped)
        exact = (
            normalize_name(first) == client.first_name_norm
            and normalize_name(last) == client.last_name_norm
        )
        if exact:
            return 100.0, "same name"
        if score >= 85 and swapped > straight:
            return score, "name matches with first and last swapped"
        return score, "name sounds alike" if score >= 85 else (
            "similar name" if score >= 60 else None
        )
    token = tokens[0] if tokens else ""
    score = max(name_similarity(token, client.first_name), name_similarity(token, client.last_name))
    if score >= 99.9:
        return 100.0, "same name"
    return score, "name sounds alike" if score >= 85 else ("similar name" if score >= 60 else None)


def _name_candidates(tokens: list[str]) -> list[ColumnElement[bool]]:
    clauses: list[ColumnElement[bool]] = []
    for token in tokens:
        norm, meta, sx = name_keys(token)
        if norm is None:
            continue
        prefix = norm[:3] + "%"
        for col_norm, col_key, col_alt in (
            (Client.first_name_norm, Client.first_name_key, Client.first_name_alt_key),
            (Client.last_name_norm, Client.last_name_key, Client.last_name_alt_key),
        ):
            clauses.append(col_norm.like(prefix))
            if meta:
                clauses.append(col_key == meta)
            if sx:
                clauses.append(col_alt == sx)
    return clauses


async def search_clients(
    session: AsyncSession, actor: Actor, query: ClientSearch
) -> list[ClientSearchHit]:
    """Ranked visible clients matching the query (best first, at most ``query.limit``)."""
    from app.services.clients import client_summary

    first, last, tokens = split_name(query.name) if query.name else (None, None, [])
    clauses = _name_candidates(tokens)
    # A merged record's id finds its survivor (merged records themselves are not listed).
    wanted_id = (
        await client_access.resolve_merged(session, query.client_id)
        if query.client_id is not None
        else None
    )
    last4_hash = crypto.ssn_last4_hash(query.ssn_last4) if query.ssn_last4 else None
    if query.dob is not None:
        clauses.append(Client.dob == query.dob)
    if last4_hash is not None:
        clauses.append(Client.ssn_last4_hash == last4_hash)
    if wanted_id is not None:
        clauses.append(Client.id == wanted_id)
    if not clauses:
        return []
    stmt = (
        select(Client)
        .where(
            Client.coc_id == actor.coc_id,
            client_access.visible_clients_filter(actor),
            Client.merged_into_id.is_(None),
            or_(*clauses),
        )
        .limit(CANDIDATE_LIMIT)
    )
    hits: list[ClientSearchHit] = []
    for client in await session.scalars(stmt):
        if wanted_id is not None and client.id == wanted_id:
            hits.append(
                ClientSearchHit(client=client_summary(client), score=100.0, reasons=["client id"])
            )
            continue
        s = _Score()
        if tokens:
            s.add(0.55, *_name_score(first, last, tokens, client))
        if query.dob is not None:
            s.add(0.3, *dob_similarity(query.dob, client.dob))
        if last4_hash is not None:
            same = client.ssn_last4_hash == last4_hash
            s.add(0.15, 100.0 if same else 0.0, "same SSN last 4" if same else None)
        if wanted_id is not None:
            s.add(0.5, 0.0, None)
        if s.total >= SEARCH_THRESHOLD:
            hits.append(
                ClientSearchHit(client=client_summary(client), score=s.total, reasons=s.reasons)
            )
    hits.sort(key=lambda h: (-h.score, (h.client.last_name or ""), str(h.client.id)))
    return hits[: query.limit]


async def find_duplicates(
    session: AsyncSession, actor: Actor, client: Client
) -> list[DuplicateCandidate]:
    """Visible clients that may be the same person as ``client`` (best first)."""
    from app.services.clients import client_summary

    tokens = [t for t in (client.first_name, client.last_name) if t]
    clauses = _name_candidates(tokens)
    if client.ssn_hash:
        clauses.append(Client.ssn_hash == client.ssn_hash)
    if client.dob is not None and client.ssn_last4_hash:
        clauses.append(Client.ssn_last4_hash == client.ssn_last4_hash)
    if not clauses:
        return []
    stmt = (
        select(Client)
        .where(
            Client.coc_id == actor.coc_id,
            client_access.visible_clients_filter(actor),
            Client.merged_into_id.is_(None),
            Client.id != client.id,
            or_(*clauses),
        )
        .limit(CANDIDATE_LIMIT)
    )
    found: list[DuplicateCandidate] = []
    for other in await session.scalars(stmt):
        s = _Score()
        if client.ssn_hash and other.ssn_hash == client.ssn_hash:
            score, reasons = 100.0, ["same SSN"]
        else:
            if client.first_name and client.last_name:
                s.add(0.6, *_name_score(client.first_name, client.last_name, tokens, other))
            elif tokens:
                s.add(0.6, *_name_score(None, None, tokens, other))
            if client.dob is not None:
                s.add(0.4, *dob_similarity(client.dob, other.dob))
            if client.ssn_last4_hash and other.ssn_last4_hash == client.ssn_last4_hash:
                s.add(0.2, 100.0, "same SSN last 4")
            score, reasons = s.total, s.reasons
        if score >= DUPLICATE_THRESHOLD:
            found.append(
                DuplicateCandidate(client=client_summary(other), score=score, reasons=reasons)
            )
    found.sort(key=lambda d: (-d.score, str(d.client.id)))
    return found[:DUPLICATE_LIMIT]
