"""A synthetic client population for benchmarks: common US names with look-alike spellings.

Names are drawn with a skewed (Zipf-like) frequency, so common names ("John Smith") have many
namesakes, and about one record in five is spelled as a look-alike (Jon, Smyth, Gonzales, ...),
as data entry produces. Rows are written with COPY (set-based), 100,000 clients in seconds:
``seed_clients(bench, world, n, rng)`` on a ``bench.harness.Bench``.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import asyncpg

from app.services.clients.search import name_keys
from app.services.demo import SeededCoc
from app.services.platform.crypto import FieldCipher

if TYPE_CHECKING:
    from bench.harness import Bench

# The organizations clients are spread over (each client is created by one of them).
ORGANIZATIONS = ("access_point_1", "access_point_2", "cas", "housing_1")

FIRST = """James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel
Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy Ronald
Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin Scott Brandon
Benjamin Samuel Gregory Alexander Patrick Frank Raymond Jack Dennis Jerry Tyler Aaron Jose Adam
Nathan Henry Zachary Douglas Peter Kyle Noah Ethan Jeremy Walter Christian Keith Roger Terry Austin
Sean Gerald Carl Harold Dylan Arthur Lawrence Jordan Jesse Bryan Billy Bruce Gabriel Joe Logan
Albert Willie Alan Eugene Russell Vincent Philip Bobby Johnny Bradley Roy Ralph Juan Carlos Luis
Miguel Jorge Mohammed Ahmed Tyrone DeShawn Jamal Darnell Malik Andre Marcus Mary Patricia Jennifer
Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty Sandra Margaret Ashley Kimberly
Emily Donna Michelle Carol Amanda Melissa Deborah Stephanie Dorothy Rebecca Sharon Laura Cynthia
Amy Kathleen Angela Shirley Brenda Emma Anna Pamela Nicole Samantha Katherine Christine Helen Debra
Rachel Carolyn Janet Maria Catherine Heather Diane Olivia Julie Joyce Victoria Ruth Virginia
Lauren Kelly Christina Joan Evelyn Judith Andrea Hannah Megan Cheryl Jacqueline Martha Madison
Teresa Gloria Sara Janice Ann Kathryn Abigail Sophia Frances Jean Alice Judy Isabella Julia Grace
Amber Denise Danielle Marilyn Beverly Charlotte Natalie Theresa Diana Brittany Doris Kayla Alexis
Lori Marie Keisha Aaliyah Fatima Ana Rosa Guadalupe Latoya Tamika Shanice Ebony""".split()  # noqa: SIM905

LAST = """Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez
Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green
Adams Nelson Baker Hall Rivera Campbell Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz
Parker Cruz Edwards Collins Reyes Stewart Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan
Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood
James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster
Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher
Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno
West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall
Owens Harrison Fernandez McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb
Tucker Guzman Burns Crawford Olson Simpson Porter Hunter Gordon Mendez Silva Shaw Snyder Mason
Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson Boyd Rose Stone Salazar Fox Warren
Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver Ryan Gardner Payne
Grant Dunn Kelley Spencer Hawkins Arnold Pierce Vazquez Hansen Peters Santos Hart Bradley Knight
Elliott Cunningham Duncan Armstrong Hudson Carroll Lane Riley Andrews Alvarado Ray Delgado Berry
Perkins Hoffman Johnston Matthews Pena Richards Contreras Willis Carpenter Lawrence
Sandoval""".split()  # noqa: SIM905

# Spelling changes data entry makes (applied once, first match).
_TYPOS = [
    ("ph", "f"),
    ("th", "t"),
    ("ck", "k"),
    ("y", "i"),
    ("i", "y"),
    ("son", "sen"),
    ("ez", "es"),
    ("ll", "l"),
    ("tt", "t"),
    ("nn", "n"),
    ("c", "k"),
    ("oh", "o"),
    ("ie", "y"),
    ("ae", "a"),
    ("en", "an"),
    ("er", "ar"),
]


def look_alike(name: str, rng: random.Random) -> str:
    """A plausible misspelling of ``name`` (another spelling, a dropped or doubled letter)."""
    lower = name.lower()
    options = [(a, b) for a, b in _TYPOS if a in lower[1:]]
    if options and rng.random() < 0.7:
        a, b = rng.choice(options)
        i = lower.index(a, 1)
        out = lower[:i] + b + lower[i + len(a) :]
    elif len(name) > 4 and rng.random() < 0.5:
        i = rng.randrange(2, len(name) - 1)
        out = lower[:i] + lower[i + 1 :]  # a dropped letter
    else:
        i = rng.randrange(1, len(name))
        out = lower[:i] + lower[i] + lower[i:]  # a doubled letter
    return out[:1].upper() + out[1:]


def _zipf_weights(n: int) -> list[float]:
    return [1 / (rank + 8) for rank in range(n)]


class Names:
    """Draws (first, last) names: skewed frequency, about one in five a look-alike spelling."""

    def __init__(self, rng: random.Random, look_alike_share: float = 0.2) -> None:
        self.rng = rng
        self.share = look_alike_share
        self._fw = _zipf_weights(len(FIRST))
        self._lw = _zipf_weights(len(LAST))

    def canonical(self) -> tuple[str, str]:
        first = self.rng.choices(FIRST, self._fw)[0]
        last = self.rng.choices(LAST, self._lw)[0]
        return first, last

    def draw(self) -> tuple[str, str]:
        first, last = self.canonical()
        if self.rng.random() < self.share:
            if self.rng.random() < 0.5:
                first = look_alike(first, self.rng)
            else:
                last = look_alike(last, self.rng)
        return first, last


CLIENT_COLUMNS = (
    "id",
    "coc_id",
    "created_by_organization_id",
    "first_name",
    "last_name",
    "first_name_norm",
    "first_name_key",
    "first_name_alt_key",
    "last_name_norm",
    "last_name_key",
    "last_name_alt_key",
    "name_data_quality",
    "ssn_encrypted",
    "ssn_hash",
    "ssn_last4_hash",
    "ssn_data_quality",
    "dob",
    "dob_data_quality",
    "am_ind_ak_native",
    "asian",
    "black_af_american",
    "hispanic_latinao",
    "mid_east_n_african",
    "native_hi_pacific",
    "white",
    "race_none",
    "veteran_status",
    "roi_start_date",
    "roi_end_date",
    "version",
)


def _ssn(rng: random.Random) -> str:
    while True:
        area, group, serial = rng.randrange(1, 900), rng.randrange(1, 100), rng.randrange(1, 10000)
        if area != 666:
            return f"{area:03d}{group:02d}{serial:04d}"


def client_rows(
    n: int,
    rng: random.Random,
    *,
    coc_id: uuid.UUID,
    organizations: list[uuid.UUID],
    today: date,
    cipher: FieldCipher,
) -> Iterator[tuple[Any, ...]]:
    """``n`` client rows (CLIENT_COLUMNS order); 75 % with an SSN, 10 % with an active ROI."""
    names = Names(rng)
    keys: dict[str, tuple[str | None, str | None, str | None]] = {}
    last4_hashes: dict[str, str] = {}
    for _ in range(n):
        first, last = names.draw()
        fk = keys.get(first) or keys.setdefault(first, name_keys(first))
        lk = keys.get(last) or keys.setdefault(last, name_keys(last))
        ssn = _ssn(rng) if rng.random() < 0.75 else None
        if ssn is not None:
            last4 = ssn[-4:]
            l4h = last4_hashes.get(last4) or last4_hashes.setdefault(
                last4, cipher.ssn_last4_hash(last4)
            )
            ssn_cols: tuple[Any, ...] = (
                cipher.encrypt(ssn, associated=b"ssn"),
                cipher.ssn_hash(ssn),
                l4h,
                1,
            )
        else:
            ssn_cols = (None, None, None, 99)
        white = rng.random() < 0.6
        roi = today - timedelta(days=rng.randrange(1, 700)) if rng.random() < 0.1 else None
        yield (
            uuid.uuid4(),
            coc_id,
            rng.choice(organizations),
            first,
            last,
            *fk,
            *lk,
            1,
            *ssn_cols,
            date(1945, 1, 1) + timedelta(days=rng.randrange(365 * 60)),
            1,
            False,
            False,
            False,
            False,
            False,
            False,
            white,
            None if white else 99,
            0 if rng.random() < 0.9 else 1,
            roi,
            None,
            1,
        )


async def copy_clients(conn: asyncpg.Connection, rows: list[tuple[Any, ...]]) -> None:
    """COPY the clients, then give each creating organization its access row (set-based)."""
    await conn.copy_records_to_table("clients", records=rows, columns=list(CLIENT_COLUMNS))
    await conn.execute(
        "INSERT INTO client_access (id, client_id, organization_id, reason, coc_id) "
        "SELECT gen_random_uuid(), id, created_by_organization_id, 'created', coc_id "
        "FROM clients"
    )
    await conn.execute("ANALYZE clients; ANALYZE client_access")


async def seed_clients(bench: Bench, world: SeededCoc, n: int, rng: random.Random) -> float:
    """``n`` clients of ``world``'s CoC spread over ``ORGANIZATIONS``, with their access rows,
    vacuumed and analyzed; the seconds it took."""
    started = time.perf_counter()
    cipher = FieldCipher(bench.settings.field_encryption_key)
    rows = list(
        client_rows(
            n,
            rng,
            coc_id=world.coc.id,
            organizations=[world.orgs[k].id for k in ORGANIZATIONS],
            today=date.today(),
            cipher=cipher,
        )
    )
    conn = await bench.connect()
    try:
        await copy_clients(conn, rows)
    finally:
        await conn.close()
    # As autovacuum would have done on a database that has grown to this size.
    await bench.vacuum_analyze("clients", "client_access")
    return round(time.perf_counter() - started, 1)
