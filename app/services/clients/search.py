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

That statement has a handful of forms (who sees what, which criteria are given): each is built
and compiled once (``candidate_query``) and run on the session's connection with the request's
values, since building and compiling it cost more than PostgreSQL takes to run it.

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
from typing import Any, Literal, NamedTuple, TypeVar

import jellyfish
from rapidfuzz.distance import JaroWinkler
from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Dialect,
    Integer,
    Select,
    String,
    Uuid,
    bindparam,
    or_,
    select,
    text,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.types import TypeEngine

from app.context import Actor
from app.models import Client
from app.schemas.clients import ClientSearch, ClientSummary, DuplicateCandidate
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
        bindparam(f"{p}_{k}", None, type_=String)
        for p in ("f", "l")
        for k in ("norm", "meta", "soundex", "prefix", "prefix2")
    ),
    bindparam("dob", None, type_=Date),
    bindparam("ssn_hash", None, type_=String),
    bindparam("ssn_last4_hash", None, type_=String),
    bindparam("client_id", None, type_=Uuid),
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

    def shape(self) -> _TermsShape:
        """What the candidate statement tests (its values aside)."""
        one = self.names[0] if len(self.names) == 1 else None
        return _TermsShape(
            names="pairs" if self._has_name_pairs() else "one" if one else "",
            one_meta=bool(one and one.meta),
            one_soundex=bool(one and one.soundex),
            dob=self.dob is not None,
            ssn_hash=self.ssn_hash is not None,
            ssn_last4_hash=self.ssn_last4_hash is not None,
            client_id=self.client_id is not None,
        )

    def values(self) -> dict[str, object]:
        """The parameters of the candidate statement (``_candidates_select``)."""
        values: dict[str, object] = {
            "where_dob": self.dob,
            "where_ssn_hash": self.ssn_hash,
            "where_ssn_last4_hash": self.ssn_last4_hash,
            "where_client_id": self.client_id,
        }
        if self._has_name_pairs():
            # Both names agree, in either order (several tokens: some two of them).
            values["pair_keys"] = sorted(
                {
                    key
                    for a, b in itertools.permutations(self.names[:MAX_PAIR_TOKENS], 2)
                    for key in _pair_keys(a, b)
                }
            )
        elif self.names:
            # One name: the client's first or last name agrees with it.
            only = self.names[0]
            values.update(one_prefix=only.norm[:3] + "%", one_meta=only.meta)
            values["one_soundex"] = only.soundex
        # The coarse agreement (``_POINTS``) that keeps the best candidates when there are many.
        first, last = self.first, self.last
        if first is None and last is None:
            first = self.names[0] if self.names else None
        values.update(
            dob=self.dob,
            ssn_hash=self.ssn_hash,
            ssn_last4_hash=self.ssn_last4_hash,
            client_id=self.client_id,
        )
        for p, name in (("f", first), ("l", last)):
            values[f"{p}_norm"] = name.norm if name else None
            values[f"{p}_meta"] = name.meta if name else None
            values[f"{p}_soundex"] = name.soundex if name else None
            values[f"{p}_prefix"] = name.norm[:3] + "%" if name else None
            values[f"{p}_prefix2"] = name.norm[:2] + "%" if name else None
        return values


class _TermsShape(NamedTuple):
    names: Literal["", "one", "pairs"]
    one_meta: bool
    one_soundex: bool
    dob: bool
    ssn_hash: bool
    ssn_last4_hash: bool
    client_id: bool

    def any(self) -> bool:
        return bool(
            self.names or self.dob or self.ssn_hash or self.ssn_last4_hash or self.client_id
        )


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


def _param(name: str, type_: TypeEngine[Any]) -> BindParameter[Any]:
    return bindparam(name, None, type_=type_)


def _agrees(side: Side, shape: _TermsShape) -> ColumnElement[bool]:
    """The client's ``side`` name starts like, or sounds like, the query's one name."""
    norm, key, alt = _columns(side)
    clauses: list[ColumnElement[bool]] = [norm.like(_param("one_prefix", String()))]
    if shape.one_meta:
        clauses.append(key == _param("one_meta", String()))
    if shape.one_soundex:
        clauses.append(alt == _param("one_soundex", String()))
    return or_(*clauses)


def _candidates_select(
    visibility: client_access.VisibilityShape, shape: _TermsShape, exclude: bool
) -> Select[Any]:
    """The candidates: names agree, or the same DOB / SSN / last 4 / id; best first, at most
    ``rank_limit``; only clients the caller may see (not merged), ``exclude_id`` left out.
    Every value is a named parameter (``Terms.values``, ``visibility_values``)."""
    clauses: list[ColumnElement[bool]] = []
    if shape.names == "pairs":
        clauses.append(
            Client.name_pair_keys.overlap(_param("pair_keys", Client.name_pair_keys.type))
        )
    elif shape.names == "one":
        clauses.append(or_(_agrees("first", shape), _agrees("last", shape)))
    if shape.dob:
        clauses.append(Client.dob == _param("where_dob", Date()))
    if shape.ssn_hash:
        clauses.append(Client.ssn_hash == _param("where_ssn_hash", String()))
    if shape.ssn_last4_hash:
        clauses.append(Client.ssn_last4_hash == _param("where_ssn_last4_hash", String()))
    if shape.client_id:
        clauses.append(Client.id == _param("where_client_id", Uuid()))
    where = [
        client_access.bound_visible_clients_filter(visibility),
        Client.merged_into_id.is_(None),
    ]
    if exclude:
        where.append(Client.id != _param("exclude_id", Uuid()))
    return (
        select(*_CANDIDATE_COLUMNS)
        .where(*where, or_(*clauses))
        .order_by(_POINTS, Client.id)
        .limit(_param("rank_limit", Integer()))
    )


@dataclass(frozen=True)
class _Compiled:
    """A candidate statement compiled for the driver: its SQL and its parameters' order."""

    sql: str
    order: tuple[str, ...]
    defaults: dict[str, Any]

    def args(self, values: dict[str, Any]) -> list[Any]:
        merged = {**self.defaults, **values}
        return [merged[name] for name in self.order]


# Compiled once per form of query (a handful: who sees what, which criteria are given).
_COMPILED: dict[tuple[str, str, bool, _TermsShape], _Compiled] = {}


def candidate_query(
    actor: Actor, terms: Terms, dialect: Dialect, *, exclude: uuid.UUID | None = None
) -> tuple[str, list[Any]] | None:
    """The candidate SQL for ``terms`` as the driver runs it, and its arguments (None: the
    query asks nothing). Building and compiling the statement costs more than running it, so
    each form is compiled once and only its values are bound per request."""
    shape = terms.shape()
    if not shape.any():
        return None
    visibility = client_access.visibility_shape(actor)
    cache_key = (dialect.name, visibility, exclude is not None, shape)
    compiled = _COMPILED.get(cache_key)
    if compiled is None:
        stmt = _candidates_select(visibility, shape, exclude is not None).compile(dialect=dialect)
        compiled = _Compiled(
            str(stmt), tuple(stmt.positiontup or ()), dict(stmt.construct_params())
        )
        _COMPILED[cache_key] = compiled
    values = {
        **client_access.visibility_values(actor),
        **terms.values(),
        "exclude_id": exclude,
        "rank_limit": RANK_LIMIT,
    }
    return compiled.sql, compiled.args(values)


async def _fetch(
    session: AsyncSession, actor: Actor, terms: Terms, *, exclude: uuid.UUID | None = None
) -> list[Candidate]:
    # Pending changes first, as an ORM read would (autoflush): the new client's own rows.
    await session.flush()
    conn = await session.connection()
    query = candidate_query(actor, terms, conn.dialect, exclude=exclude)
    if query is None:
        return []
    sql, args = query
    result = await conn.exec_driver_sql(sql, tuple(args))
    return [Candidate._make(row) for row in result.all()]


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


class _Score:
    """A weighted mean of 0-100 scores, and the reasons given for them."""

    __slots__ = ("reasons", "weighted", "weights")

    def __init__(self) -> None:
        self.weights: list[float] = []
        self.weighted: list[float] = []  # weight x score, in the order added
        self.reasons: list[str] = []

    def add(self, weight: float, score: float, reason: str | None) -> None:
        self.weights.append(weight)
        self.weighted.append(weight * score)
        if reason:
            self.reasons.append(reason)

    @property
    def total(self) -> float:
        weights = sum(self.weights)
        return round(sum(self.weighted) / weights, 1) if weights else 0.0


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


def summary_data(c: Candidate, cipher: FieldCipher) -> dict[str, Any]:
    """``summary`` as plain data, in the model's field order."""
    return {
        "id": c.id,
        "first_name": c.first_name,
        "middle_name": c.middle_name,
        "last_name": c.last_name,
        "dob": c.dob,
        "ssn": mask_ssn(decrypt_ssn(c.ssn_encrypted, cipher)),
        "veteran_status": c.veteran_status,
    }


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


class _NameScores:
    """``_name_score`` of one query, remembered per spelling of a candidate's names: among a
    common name's candidates many spell it alike, and the score depends on nothing else."""

    def __init__(
        self, first: _Name | None, last: _Name | None, both_given: bool, token: _Name | None
    ) -> None:
        self._args = (first, last, both_given, token)
        self._known: dict[tuple[str | None, ...], tuple[float, str | None]] = {}

    def of(self, c: Candidate) -> tuple[float, str | None]:
        spelling = (c.first_name_norm, c.first_name_key, c.last_name_norm, c.last_name_key)
        found = self._known.get(spelling)
        if found is None:
            found = self._known[spelling] = _name_score(*self._args, c)
        return found


def _rank_search(
    query: ClientSearch, terms: Terms, candidates: Sequence[Candidate]
) -> list[tuple[float, list[str], Candidate]]:
    first, last, tokens = split_name(query.name) if query.name else (None, None, [])
    both_given = bool(first and last)
    token = _Name.of(tokens[0]) if tokens else None
    name_scores = _NameScores(terms.first, terms.last, both_given, token)
    ranked: list[tuple[float, list[str], Candidate]] = []
    for c in candidates:
        if terms.client_id is not None and c.id == terms.client_id:
            ranked.append((100.0, ["client id"], c))
            continue
        s = _Score()
        if tokens:
            s.add(0.55, *name_scores.of(c))
        if query.dob is not None:
            s.add(0.3, *dob_similarity(query.dob, c.dob))
        if terms.ssn_last4_hash is not None:
            same = c.ssn_last4_hash == terms.ssn_last4_hash
            s.add(0.15, 100.0 if same else 0.0, "same SSN last 4" if same else None)
        if terms.client_id is not None:
            s.add(0.5, 0.0, None)
        total = s.total
        if total >= SEARCH_THRESHOLD:
            ranked.append((total, s.reasons, c))
    ranked.sort(key=lambda h: (-h[0], h[2].last_name or "", str(h[2].id)))
    return ranked[: query.limit]


async def search_clients(
    session: AsyncSession, actor: Actor, query: ClientSearch, cipher: FieldCipher
) -> list[dict[str, Any]]:
    """Ranked visible clients matching the query (best first, at most ``query.limit``), as
    plain data in the shape of ``ClientSearchHit`` (field order included): the route writes
    them once (``app.http.plain_json``) instead of building models and validating them again."""
    # A merged record's id finds its survivor (merged records themselves are not listed).
    wanted_id = (
        await client_access.resolve_merged(session, query.client_id)
        if query.client_id is not None
        else None
    )
    terms = search_terms(query, wanted_id, cipher)
    candidates = await _fetch(session, actor, terms)
    if not candidates:
        return []
    ranked = await _rank(lambda: _rank_search(query, terms, candidates), len(candidates))
    return [
        {"client": summary_data(c, cipher), "score": score, "reasons": reasons}
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
    name_scores = _NameScores(terms.first, terms.last, both_given, token)
    found: list[tuple[float, list[str], Candidate]] = []
    for other in candidates:
        s = _Score()
        if client.ssn_hash and other.ssn_hash == client.ssn_hash:
            score, reasons = 100.0, ["same SSN"]
        else:
            if tokens:
                s.add(0.6, *name_scores.of(other))
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
    candidates = await _fetch(session, actor, duplicate_terms(client), exclude=client.id)
    found = await _rank(lambda: _rank_duplicates(client, candidates), len(candidates))
    return [
        DuplicateCandidate(client=summary(c, cipher), score=score, reasons=reasons)
        for score, reasons, c in found
    ]
