"""Find client and duplicate detection, without database extensions.

Each client row carries, per name, a normalized form (lower-case letters only), a metaphone key
and a soundex key in indexed columns, plus the generated column ``name_pair_keys`` (one GIN
index): every first-name key (3-letter prefix, metaphone, soundex) paired with every last-name
key, and each name's keys paired with the other name's start (initial, first two letters). A
search turns the query into the same keys and picks its candidates in SQL, only among clients
the caller may see:

* a query with two or more names: clients whose first and last names agree with two of them,
  in either order -- both by a key, or one by a key and the other by its first two letters (a
  typo that changes all of one name's keys, "Anrew Rodriguez", still finds "Andrew Rodriguez";
  an initial, "Okafor, N", finds "Nicholas Okafor"); a query with one name: clients whose
  first or last name agrees with it;
* or the same DOB, SSN (last 4) or id;
* best first by a coarse agreement count, at most ``RANK_LIMIT``: a common name never means
  ranking thousands of rows.

Python then ranks only those candidates with Jaro-Winkler similarity (rapidfuzz) plus phonetic
agreement (jellyfish), in a worker thread when the list is long, so the event loop keeps
serving other requests. "Jon Smyth" finds "John Smith": both names share their metaphone keys
(JN, SM0).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import unicodedata
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal, NamedTuple, TypeVar

import jellyfish
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import (
    ColumnElement,
    Date,
    Select,
    String,
    TextClause,
    Uuid,
    bindparam,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from app.context import Actor
from app.models import Client
from app.schemas.clients import ClientSearch, ClientSearchHit, ClientSummary, DuplicateCandidate
from app.services.clients import access as client_access
from app.services.clients.ssn import decrypt_ssn, mask_ssn
from app.services.platform.crypto import FieldCipher

# At most this many candidates are ranked per query (the search limit is at most 100).
RANK_LIMIT = 200
# Ranking more candidates than this runs in a worker thread.
INLINE_RANK_LIMIT = 40
SEARCH_THRESHOLD = 55.0
DUPLICATE_THRESHOLD = 80.0
DUPLICATE_LIMIT = 10
# Name tokens used to pair first and last names ("Maria Garcia Lopez": 3 tokens, 6 pairs).
MAX_PAIR_TOKENS = 4

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


@dataclass(frozen=True)
class _Name:
    """One name of a query, with the keys stored for clients' names."""

    norm: str
    meta: str | None
    soundex: str | None

    @classmethod
    def of(cls, value: str | None) -> _Name | None:
        norm, meta, soundex = name_keys(value)
        return cls(norm, meta, soundex) if norm is not None else None

    def key_parts(self) -> list[str]:
        """This name's keys as written in ``clients.name_pair_keys`` (``NAME_PAIR_KEYS_SQL``)."""
        parts = [f"p{self.norm[:3]}"]
        if self.meta:
            parts.append(f"m{self.meta}")
        if self.soundex:
            parts.append(f"s{self.soundex}")
        return parts

    @property
    def start_part(self) -> str:
        """The name's start as written in ``name_pair_keys``: its first two letters, or the
        initial when that is all the query gives."""
        return f"2{self.norm[:2]}" if len(self.norm) >= 2 else f"1{self.norm}"


def _pair_keys(first: _Name, last: _Name) -> list[str]:
    """The ``name_pair_keys`` entries of clients whose first name agrees with ``first`` and
    last name with ``last``: both by a key, or one by a key and the other by its start."""
    fk, lk = first.key_parts(), last.key_parts()
    return (
        [f"{a}|{b}" for a in fk for b in lk]
        + [f"{a}|{last.start_part}" for a in fk]
        + [f"{first.start_part}|{b}" for b in lk]
    )


Side = Literal["first", "last"]
_Col = InstrumentedAttribute[str | None]


def _columns(side: Side) -> tuple[_Col, _Col, _Col]:
    if side == "first":
        return Client.first_name_norm, Client.first_name_key, Client.first_name_alt_key
    return Client.last_name_norm, Client.last_name_key, Client.last_name_alt_key


def _agrees(name: _Name, side: Side) -> ColumnElement[bool]:
    """The client's ``side`` name starts like, or sounds like, ``name`` (indexed columns)."""
    norm, key, alt = _columns(side)
    clauses: list[ColumnElement[bool]] = [norm.like(name.norm[:3] + "%")]
    if name.meta:
        clauses.append(key == name.meta)
    if name.soundex:
        clauses.append(alt == name.soundex)
    return or_(*clauses)


def _agreement_sql(side: Side, p: str) -> str:
    """A coarse 0-6 agreement of the query name ``p`` with the client's ``side`` name."""
    return (
        f"CASE WHEN clients.{side}_name_norm = :{p}_norm THEN 6"
        f" WHEN clients.{side}_name_key = :{p}_meta THEN 4"
        f" WHEN clients.{side}_name_alt_key = :{p}_soundex"
        f" OR clients.{side}_name_norm LIKE :{p}_prefix THEN 2"
        f" WHEN clients.{side}_name_norm LIKE :{p}_prefix2 THEN 1 ELSE 0 END"
    )


# Best candidates first: both names agreeing (in either order), then the same DOB, SSN, last 4,
# id. One static expression (parameters left NULL count nothing), cheap to build per request.
_POINTS = text(
    f"greatest({_agreement_sql('first', 'f')} + {_agreement_sql('last', 'l')},"
    f" {_agreement_sql('last', 'f')} + {_agreement_sql('first', 'l')})"
    " + CASE WHEN clients.dob = :dob THEN 6 ELSE 0 END"
    " + CASE WHEN clients.ssn_hash = :ssn_hash THEN 12 ELSE 0 END"
    " + CASE WHEN clients.ssn_last4_hash = :ssn_last4_hash THEN 6 ELSE 0 END"
    " + CASE WHEN clients.id = :client_id THEN 100 ELSE 0 END DESC"
).bindparams(
    *(
        bindparam(f"{p}_{k}", type_=String)
        for p in ("f", "l")
        for k in ("norm", "meta", "soundex", "prefix", "prefix2")
    ),
    bindparam("dob", type_=Date),
    bindparam("ssn_hash", type_=String),
    bindparam("ssn_last4_hash", type_=String),
    bindparam("client_id", type_=Uuid),
)


# --- what a query asks --------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """A search (or a new client's data) turned into the keys candidates are chosen by."""

    first: _Name | None = None
    last: _Name | None = None
    names: list[_Name] = field(default_factory=list)  # every name token, for candidates
    dob: date | None = None
    ssn_hash: str | None = None
    ssn_last4_hash: str | None = None
    client_id: uuid.UUID | None = None

    def _has_name_pairs(self) -> bool:
        return len(self.names) >= 2

    def name_condition(self) -> ColumnElement[bool] | None:
        """Both names agree, in either order (several tokens: some two of them); one name:
        the client's first or last name agrees with it."""
        if not self.names:
            return None
        if not self._has_name_pairs():
            only = self.names[0]
            return or_(_agrees(only, "first"), _agrees(only, "last"))
        keys = {
            key
            for a, b in itertools.permutations(self.names[:MAX_PAIR_TOKENS], 2)
            for key in _pair_keys(a, b)
        }
        return Client.name_pair_keys.overlap(sorted(keys))

    def points(self) -> TextClause:
        """Coarse agreement (``_POINTS``), to keep the best candidates when there are many."""
        first, last = self.first, self.last
        if first is None and last is None:
            first = self.names[0] if self.names else None
        values: dict[str, object] = {
            "dob": self.dob,
            "ssn_hash": self.ssn_hash,
            "ssn_last4_hash": self.ssn_last4_hash,
            "client_id": self.client_id,
        }
        for p, name in (("f", first), ("l", last)):
            values[f"{p}_norm"] = name.norm if name else None
            values[f"{p}_meta"] = name.meta if name else None
            values[f"{p}_soundex"] = name.soundex if name else None
            values[f"{p}_prefix"] = name.norm[:3] + "%" if name else None
            values[f"{p}_prefix2"] = name.norm[:2] + "%" if name else None
        return _POINTS.bindparams(**values)


class Candidate(NamedTuple):
    """The columns ranking and a summary need (no ORM objects: hundreds may be read)."""

    id: uuid.UUID
    first_name: str | None
    middle_name: str | None
    last_name: str | None
    first_name_norm: str | None
    first_name_key: str | None
    last_name_norm: str | None
    last_name_key: str | None
    dob: date | None
    ssn_encrypted: bytes | None
    ssn_hash: str | None
    ssn_last4_hash: str | None
    veteran_status: int


_CANDIDATE_COLUMNS = [getattr(Client, f) for f in Candidate._fields]


def _visible(actor: Actor, exclude: uuid.UUID | None) -> list[ColumnElement[bool]]:
    where = [
        Client.coc_id == actor.coc_id,
        client_access.visible_clients_filter(actor),
        Client.merged_into_id.is_(None),
    ]
    if exclude is not None:
        where.append(Client.id != exclude)
    return where


def candidates_stmt(
    actor: Actor, terms: Terms, *, exclude: uuid.UUID | None = None
) -> Select[tuple[Candidate]] | None:
    """The candidates: names agree, or the same DOB / SSN / last 4 / id; best first, at most
    ``RANK_LIMIT``. ``exclude``: a client not to list (the one just created)."""
    clauses: list[ColumnElement[bool]] = []
    names = terms.name_condition()
    if names is not None:
        clauses.append(names)
    if terms.dob is not None:
        clauses.append(Client.dob == terms.dob)
    if terms.ssn_hash is not None:
        clauses.append(Client.ssn_hash == terms.ssn_hash)
    if terms.ssn_last4_hash is not None:
        clauses.append(Client.ssn_last4_hash == terms.ssn_last4_hash)
    if terms.client_id is not None:
        clauses.append(Client.id == terms.client_id)
    if not clauses:
        return None
    return (
        select(*_CANDIDATE_COLUMNS)
        .where(*_visible(actor, exclude), or_(*clauses))
        .order_by(terms.points(), Client.id)
        .limit(RANK_LIMIT)
    )


async def _fetch(session: AsyncSession, stmt: Select[tuple[Candidate]]) -> list[Candidate]:
    return [Candidate._make(row) for row in (await session.execute(stmt)).all()]


_R = TypeVar("_R")


async def _rank(rank: Callable[[], _R], size: int) -> _R:
    """Run ``rank``: in a worker thread when it has many candidates to score."""
    if size > INLINE_RANK_LIMIT:
        return await asyncio.to_thread(rank)
    return rank()


# --- scoring ------------------------------------------------------------------------------------


def _similarity(name: _Name | None, norm: str | None, key: str | None) -> float:
    """0-100: Jaro-Winkler of the normalized names, at least 90 when they sound alike."""
    if name is None or not norm:
        return 0.0
    score: float = JaroWinkler.normalized_similarity(name.norm, norm) * 100
    if name.norm != norm and (name.meta or "") == (key or ""):
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
    first: _Name | None,
    last: _Name | None,
    both_given: bool,
    token: _Name | None,
    c: Candidate,
) -> tuple[float, str | None]:
    """``both_given``: the query has a first and a last name, else only ``token`` is used."""
    if both_given:
        straight = (
            _similarity(first, c.first_name_norm, c.first_name_key)
            + _similarity(last, c.last_name_norm, c.last_name_key)
        ) / 2
        swapped = (
            0.95
            * (
                _similarity(first, c.last_name_norm, c.last_name_key)
                + _similarity(last, c.first_name_norm, c.first_name_key)
            )
            / 2
        )
        score = max(straight, swapped)
        exact = (first.norm if first else None) == c.first_name_norm and (
            last.norm if last else None
        ) == c.last_name_norm
        if exact:
            return 100.0, "same name"
        if score >= 85 and swapped > straight:
            return score, "name matches with first and last swapped"
        return score, "name sounds alike" if score >= 85 else (
            "similar name" if score >= 60 else None
        )
    score = max(
        _similarity(token, c.first_name_norm, c.first_name_key),
        _similarity(token, c.last_name_norm, c.last_name_key),
    )
    if score >= 99.9:
        return 100.0, "same name"
    return score, "name sounds alike" if score >= 85 else ("similar name" if score >= 60 else None)


def summary(c: Candidate, cipher: FieldCipher) -> ClientSummary:
    ssn = decrypt_ssn(c.ssn_encrypted, cipher)
    return ClientSummary(
        id=c.id,
        first_name=c.first_name,
        middle_name=c.middle_name,
        last_name=c.last_name,
        dob=c.dob,
        ssn=mask_ssn(ssn),
        veteran_status=c.veteran_status,
    )


# --- find client --------------------------------------------------------------------------------


def search_terms(query: ClientSearch, client_id: uuid.UUID | None, cipher: FieldCipher) -> Terms:
    """``client_id``: the wanted id, merges already followed."""
    first, last, tokens = split_name(query.name) if query.name else (None, None, [])
    return Terms(
        first=_Name.of(first),
        last=_Name.of(last),
        names=[n for n in map(_Name.of, tokens) if n is not None],
        dob=query.dob,
        ssn_last4_hash=cipher.ssn_last4_hash(query.ssn_last4) if query.ssn_last4 else None,
        client_id=client_id,
    )


def _rank_search(
    query: ClientSearch, terms: Terms, candidates: Sequence[Candidate]
) -> list[tuple[float, list[str], Candidate]]:
    first, last, tokens = split_name(query.name) if query.name else (None, None, [])
    both_given = bool(first and last)
    token = _Name.of(tokens[0]) if tokens else None
    ranked: list[tuple[float, list[str], Candidate]] = []
    for c in candidates:
        if terms.client_id is not None and c.id == terms.client_id:
            ranked.append((100.0, ["client id"], c))
            continue
        s = _Score()
        if tokens:
            s.add(0.55, *_name_score(terms.first, terms.last, both_given, token, c))
        if query.dob is not None:
            s.add(0.3, *dob_similarity(query.dob, c.dob))
        if terms.ssn_last4_hash is not None:
            same = c.ssn_last4_hash == terms.ssn_last4_hash
            s.add(0.15, 100.0 if same else 0.0, "same SSN last 4" if same else None)
        if terms.client_id is not None:
            s.add(0.5, 0.0, None)
        if s.total >= SEARCH_THRESHOLD:
            ranked.append((s.total, s.reasons, c))
    ranked.sort(key=lambda h: (-h[0], h[2].last_name or "", str(h[2].id)))
    return ranked[: query.limit]


async def search_clients(
    session: AsyncSession, actor: Actor, query: ClientSearch, cipher: FieldCipher
) -> list[ClientSearchHit]:
    """Ranked visible clients matching the query (best first, at most ``query.limit``)."""
    # A merged record's id finds its survivor (merged records themselves are not listed).
    wanted_id = (
        await client_access.resolve_merged(session, query.client_id)
        if query.client_id is not None
        else None
    )
    terms = search_terms(query, wanted_id, cipher)
    stmt = candidates_stmt(actor, terms)
    if stmt is None:
        return []
    candidates = await _fetch(session, stmt)
    ranked = await _rank(lambda: _rank_search(query, terms, candidates), len(candidates))
    return [
        ClientSearchHit(client=summary(c, cipher), score=score, reasons=reasons)
        for score, reasons, c in ranked
    ]


# --- duplicates ---------------------------------------------------------------------------------


def duplicate_terms(client: Client) -> Terms:
    names = [n for n in (_Name.of(client.first_name), _Name.of(client.last_name)) if n]
    return Terms(
        first=_Name.of(client.first_name),
        last=_Name.of(client.last_name),
        names=names,
        dob=client.dob,
        ssn_hash=client.ssn_hash,
        # The last 4 alone are too common to suggest a duplicate without a DOB to go with.
        ssn_last4_hash=client.ssn_last4_hash if client.dob is not None else None,
    )


def _rank_duplicates(
    client: Client, candidates: Sequence[Candidate]
) -> list[tuple[float, list[str], Candidate]]:
    terms = duplicate_terms(client)
    both_given = bool(client.first_name and client.last_name)
    tokens = [t for t in (client.first_name, client.last_name) if t]
    token = _Name.of(tokens[0]) if tokens else None
    found: list[tuple[float, list[str], Candidate]] = []
    for other in candidates:
        s = _Score()
        if client.ssn_hash and other.ssn_hash == client.ssn_hash:
            score, reasons = 100.0, ["same SSN"]
        else:
            if tokens:
                s.add(0.6, *_name_score(terms.first, terms.last, both_given, token, other))
            if client.dob is not None:
                s.add(0.4, *dob_similarity(client.dob, other.dob))
            if client.ssn_last4_hash and other.ssn_last4_hash == client.ssn_last4_hash:
                s.add(0.2, 100.0, "same SSN last 4")
            score, reasons = s.total, s.reasons
        if score >= DUPLICATE_THRESHOLD:
            found.append((score, reasons, other))
    found.sort(key=lambda d: (-d[0], str(d[2].id)))
    return found[:DUPLICATE_LIMIT]


async def find_duplicates(
    session: AsyncSession, actor: Actor, client: Client, cipher: FieldCipher
) -> list[DuplicateCandidate]:
    """Visible clients that may be the same person as ``client`` (best first)."""
    stmt = candidates_stmt(actor, duplicate_terms(client), exclude=client.id)
    if stmt is None:
        return []
    candidates = await _fetch(session, stmt)
    found = await _rank(lambda: _rank_duplicates(client, candidates), len(candidates))
    return [
        DuplicateCandidate(client=summary(c, cipher), score=score, reasons=reasons)
        for score, reasons, c in found
    ]
