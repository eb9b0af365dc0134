"""Synthetic clinic months: screening results (検診結果, LAYOUTS.md §4) and
detailed-exam outcomes (精密検査結果, §5) of the synthetic city's residents.

Exams are drawn day by day while the city lives (`ClinicMonths.day`, called
after each day's registry events), so each record shows the person as they
were on their exam date: a person who moved or married mid-month appears
with the address or name of that day. Participation follows each programme's
rules (programmes.yaml: sex, fiscal-year age, milestones; prostate for NHI
members, the welfare check for public-assistance recipients) at yearly rates
chosen so that a 1.56M city sends ~100,000 records a month; 要精検 at rates
near the national acceptable values; ~85 % of 要精検 people get a
detailed-exam outcome 10-170 days later, reported by a hospital in the month
of the follow-up.

Records are keyed the way clinics key them: mostly no addressee id, names in
half-width kana, hiragana, without or with extra spaces, variant kanji,
era or Gregorian birth dates, a one-kana or one-digit typo, month and day
swapped, an address written differently or the old one of a person who moved
recently, and some people who are not residents at all. The noise applied to
each record is kept in the ground truth (`truth/clinic_records.parquet`,
`truth/detailed_exams.parquet`), never read by the pipeline.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow as pa

from kenshin.ingest.normalize import month_bounds, to_era
from kenshin.lab.synth.names import half_width
from kenshin.lab.synth.registry_files import RESIDENT
from kenshin.platform import vocabulary
from kenshin.platform.envelope import write_records
from kenshin.programmes import rules as programmes

# Screened per year among the people a programme admits (participation).
ANNUAL_RATE = {"01": 0.05, "02": 0.09, "03": 0.33, "04": 0.38, "05": 0.28, "06": 0.10, "07": 0.33,
               "08": 0.15, "09": 0.08, "10": 0.10, "11": 0.10, "12": 0.0}
# (要精検, 要指導, 判定不能) shares of results per exam type.
RESULT_SHARES = {"01": (0.08, 0.10, 0.005), "02": (0.07, 0.10, 0.005), "03": (0.02, 0.05, 0.003),
                 "04": (0.065, 0.0, 0.005), "05": (0.015, 0.02, 0.005), "06": (0.05, 0.0, 0.005),
                 "07": (0.07, 0.05, 0.003), "08": (0.08, 0.0, 0.003), "09": (0.30, 0.30, 0.0),
                 "10": (0.20, 0.25, 0.0), "11": (0.10, 0.40, 0.0), "12": (0.01, 0.0, 0.0)}
FOLLOWED_UP = 0.85                              # 要精検 people with a reported outcome
# cancer, suspected, other disease, no abnormality, not attended (未受診, reported)
OUTCOME_SHARES = (0.03, 0.05, 0.38, 0.49, 0.05)
OPEN_DAYS_PER_YEAR = 300                        # clinics: Monday to Saturday
RESIDENTS_PER_CLINIC = 4_000                    # ~400 clinics for 1.56M people
HOSPITAL_SHARE = 0.1                            # the largest clinics also do detailed exams
NON_RESIDENT_SHARE = 0.005                      # records of people the city does not hold

# Noise shares per record (independent draws; DOMAIN.md "Matching people").
NOISE = {
    "addressee_id": 0.08, "half_width_kana": 0.15, "hiragana": 0.05, "no_space": 0.10, "extra_space": 0.04,
    "variant_kanji": 0.30, "era_date": 0.30, "kana_typo": 0.015, "digit_typo": 0.005, "swapped_date": 0.003,
    "no_kanji": 0.03, "no_address": 0.02, "address_style": 0.30, "old_address": 0.5,
}
OLD_ADDRESS_DAYS = 180  # a move this recent may leave the clinic with the old address
VARIANTS = {"高": "髙", "崎": "﨑", "辺": "邉", "斎": "齋", "沢": "澤", "浜": "濱", "島": "嶋", "広": "廣",
            "桜": "櫻", "国": "國", "関": "關", "徳": "德", "栄": "榮", "竜": "龍", "恵": "惠", "真": "眞",
            "富": "冨", "寿": "壽", "実": "實", "条": "條"}
KANA_SWAP = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワン"
_NUMBERS = (re.compile(r"([0-9０-９]+)丁目"), re.compile(r"([0-9０-９]+)番地?"), re.compile(r"([0-9０-９]+)号室?"))


class ClinicMonths:
    """Draws exams while the city lives and writes the clinic files of whole months."""

    def __init__(self, city, seed: int, first: dt.date, last: dt.date) -> None:
        self.city = city
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))
        self.first, self.last = first, last
        self.types = programmes.exam_types()
        residents = int((city.reg.people.status == RESIDENT).sum())
        n = max(3, round(residents / RESIDENTS_PER_CLINIC))
        codes = 1_410_000_000 + np.sort(self.rng.choice(9_999_000, size=n, replace=False)) + 1_000
        self.clinics = [str(c) for c in codes.tolist()]
        weight = self.rng.lognormal(0.0, 1.0, n)      # a few large clinics, many small ones
        self.clinic_p = weight / weight.sum()
        k = max(1, round(n * HOSPITAL_SHARE))
        self.hospitals = np.argsort(-weight)[:k]
        self.hospital_p = weight[self.hospitals] / weight[self.hospitals].sum()
        self.moved: dict[int, tuple[int, int]] = {}   # person -> (old address row, move day)
        self._addr_before: np.ndarray | None = None
        self.screenings: list[dict] = []
        self.followups: list[dict] = []
        self.family_done: dict[str, np.ndarray] = {}   # family -> screened this month, per person row

    # -- while the city lives ---------------------------------------------------
    def before_day(self) -> None:
        self._addr_before = self.city.reg.people.addr.copy()

    def day(self, day: dt.date) -> None:
        """After the day's registry events: remember moves, draw the day's exams."""
        p = self.city.reg.people
        d = day.toordinal()
        if self._addr_before is not None:
            before = self._addr_before
            changed = np.flatnonzero(before != p.addr[: len(before)])
            for i in changed.tolist():
                self.moved[i] = (int(before[i]), d)
            self._addr_before = None
        if not (self.first <= day <= self.last) or day.weekday() == 6:
            return
        drawn = len(self.screenings)
        resident = np.flatnonzero(p.status == RESIDENT)
        birth = p.birth[resident]
        age = self._fiscal_year_age(birth, day)
        sex = p.sex[resident]
        nhi = (p.nhi_no[resident] > 0) & (p.nhi_to[resident] == 0)
        welfare = (p.wf_case[resident] >= 0) & (p.wf_to[resident] == 0)
        for code, rule in self.types.items():
            rate = ANNUAL_RATE.get(code, 0.0) / OPEN_DAYS_PER_YEAR
            if rate <= 0:
                continue
            ok = np.ones(len(resident), dtype=bool)
            if not rule.active:
                continue
            if rule.sex is not None:
                ok &= sex == rule.sex
            if rule.age_ranges:
                in_range = np.zeros(len(resident), dtype=bool)
                for low, high in rule.age_ranges:
                    in_range |= (age >= low) & (age <= (high if high is not None else 200))
                ok &= in_range
            if rule.milestone_ages:
                ok &= np.isin(age, rule.milestone_ages)
            if rule.population == "nhi":
                ok &= nhi
            if rule.population == "welfare":
                ok &= welfare
            if rule.excluded_population == "nhi":
                ok &= ~nhi
            # one screening of a family in the month: a clinic's second one in the
            # fiscal year is 重複受診, which the intake check holds (not the synthetic norm)
            if rule.family in self.family_done:
                ok &= ~self._done(rule.family)[resident]
            eligible = resident[ok]
            k = int(self.rng.binomial(len(eligible), rate))
            for i in self.rng.choice(eligible, size=k, replace=False).tolist() if k else []:
                self._screen(i, code, day)
        for _ in range(int(self.rng.poisson((len(self.screenings) - drawn) * NON_RESIDENT_SHARE))):
            self._stranger(day)

    @staticmethod
    def _fiscal_year_age(birth: np.ndarray, day: dt.date) -> np.ndarray:
        """年度年齢 (programmes.fiscal_year_age) of everyone born on `birth` (day ordinals)."""
        # the ordinary age on the day after the reference day (Japanese age law)
        ref = programmes.age_reference_day(day) + dt.timedelta(days=1)
        b = (birth.astype(np.int64) - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]")
        by = b.astype("datetime64[Y]").astype(int) + 1970
        bm = b.astype("datetime64[M]").astype(int) % 12 + 1
        bd = (b - b.astype("datetime64[M]")).astype(int) + 1
        return ref.year - by - ((bm > ref.month) | ((bm == ref.month) & (bd > ref.day)))

    # -- one record ---------------------------------------------------------------
    def _done(self, family: str) -> np.ndarray:
        """Who had a screening of `family` this month, per person row (grown with the city)."""
        n = len(self.city.reg.people.status)
        done = self.family_done.get(family)
        if done is None or len(done) < n:
            grown = np.zeros(n, dtype=bool)
            if done is not None:
                grown[:len(done)] = done
            self.family_done[family] = done = grown
        return done

    def _screen(self, i: int, code: str, day: dt.date) -> None:
        reg, p = self.city.reg, self.city.reg.people
        idx = np.array([i])
        p3, p2, p9 = RESULT_SHARES[code]
        u = self.rng.random()
        result = "3" if u < p3 else "2" if u < p3 + p2 else "9" if u < p3 + p2 + p9 else "1"
        addr = int(p.addr[i])
        noise = []
        moved = self.moved.get(i)
        if moved and day.toordinal() - moved[1] <= OLD_ADDRESS_DAYS and self.rng.random() < NOISE["old_address"]:
            addr = moved[0]
            noise.append("old_address")
        record = {
            "addressee_id": f"{int(p.aid[i]):010d}", "name_kana": str(reg.name_kana(idx)[0]),
            "name_kanji": str(reg.name_kanji(idx)[0]), "sex": int(p.sex[i]),
            "birth": dt.date.fromordinal(int(p.birth[i])), "postal_code": reg.addr_postal[addr],
            "address": reg.addr_text[addr], "exam_type": code, "exam_date": day, "result_code": result,
            "clinic": int(self.rng.choice(len(self.clinics), p=self.clinic_p)), "noise": noise,
            "resident": True, "fee_exempt": "1" if (p.wf_case[i] >= 0 and p.wf_to[i] == 0) else "0",
        }
        self.screenings.append(record)
        self._done(self.types[code].family)[i] = True
        if (code, result) in vocabulary.needs_detailed_exam() and self.rng.random() < FOLLOWED_UP:
            followup = day + dt.timedelta(days=int(self.rng.integers(10, 171)))
            outcome = str(int(self.rng.choice(len(OUTCOME_SHARES), p=OUTCOME_SHARES)) + 1)
            self.followups.append({**record, "noise": [], "followup_date": followup, "outcome": outcome,
                                   "hospital": int(self.rng.choice(self.hospitals, p=self.hospital_p))})

    def _stranger(self, day: dt.date) -> None:
        """Someone the city does not hold (a visitor, a person not yet registered)."""
        names, rng = self.city.names, self.rng
        sex = int(rng.integers(1, 3))
        birth = day - dt.timedelta(days=int(rng.integers(41 * 365, 85 * 365)))
        s = int(names.draw_surnames(rng, 1)[0])
        g = int(names.draw_given(rng, np.array([sex]), np.array([birth.year]))[0])
        code = "03" if rng.random() < 0.5 else "04"
        if rng.random() < 0.5:  # from elsewhere
            _, text = self.city.geo.previous_addresses(rng, 1)
            postal_code, address = f"{int(rng.integers(100, 999))}-{int(rng.integers(0, 9999)):04d}", text[0]
        else:  # an address in the city, but not on the register
            ps, _, ts = self.city.geo.city_addresses(rng, np.array([int(rng.integers(0, 7))]))
            postal_code, address = ps[0], ts[0]
        self.screenings.append({
            "addressee_id": None, "name_kana": names.surnames.kana[s] + "\u3000" + names.given.kana[g],
            "name_kanji": names.surnames.kanji[s] + "\u3000" + names.given.kanji[g], "sex": sex, "birth": birth,
            "postal_code": postal_code, "address": address, "exam_type": code, "exam_date": day,
            "result_code": "1", "clinic": int(rng.choice(len(self.clinics), p=self.clinic_p)),
            "noise": ["non_resident"], "resident": False, "fee_exempt": "0",
        })

    # -- keying the record as a clinic would ----------------------------------------
    def _keyed_names(self, r: dict, noise: list[str]) -> tuple[str, str]:
        rng = self.rng
        kana, kanji = r["name_kana"].replace(" ", "\u3000"), r["name_kanji"]
        if "\u3000" in kana and rng.random() < NOISE["kana_typo"]:
            family, given = kana.split("\u3000", 1)
            j = int(rng.integers(0, len(given)))
            if given[j] in KANA_SWAP:
                given = given[:j] + rng.choice([c for c in KANA_SWAP if c != given[j]]) + given[j + 1:]
                kana = family + "\u3000" + given
                noise.append("kana_typo")
        if rng.random() < NOISE["half_width_kana"]:
            kana = half_width(kana)
            noise.append("half_width_kana")
        elif rng.random() < NOISE["hiragana"] / (1 - NOISE["half_width_kana"]):
            kana = "".join(chr(ord(c) - 0x60) if "ァ" <= c <= "ヶ" else c for c in kana)
            noise.append("hiragana")
        if rng.random() < NOISE["no_space"]:
            kana, kanji = kana.replace("\u3000", "").replace(" ", ""), kanji.replace("\u3000", "")
            noise.append("no_space")
        elif rng.random() < NOISE["extra_space"]:
            kana, kanji = " " + kana + " ", kanji.replace("\u3000", "\u3000 ")
            noise.append("extra_space")
        swappable = [c for c in kanji if c in VARIANTS]
        if swappable and rng.random() < NOISE["variant_kanji"]:
            c = swappable[0]
            kanji = kanji.replace(c, VARIANTS[c], 1)
            noise.append("variant_kanji")
        if rng.random() < NOISE["no_kanji"]:
            kanji = ""
            noise.append("no_kanji")
        return kana, kanji

    def _keyed_birth(self, birth: dt.date, noise: list[str]) -> str:
        rng = self.rng
        if birth.day <= 12 and birth.day != birth.month and rng.random() < NOISE["swapped_date"]:
            birth = birth.replace(month=birth.day, day=birth.month)
            noise.append("swapped_date")
        elif rng.random() < NOISE["digit_typo"]:
            for _ in range(5):
                last = (birth.day % 10 + int(rng.integers(1, 10))) % 10
                try:
                    birth = birth.replace(day=birth.day - birth.day % 10 + last)
                except ValueError:
                    continue
                if birth.day >= 1:
                    noise.append("digit_typo")
                    break
        if rng.random() < NOISE["era_date"]:
            noise.append("era_date")
            return to_era(birth)
        return birth.strftime("%Y%m%d")

    def _keyed_address(self, address: str, postal: str, noise: list[str]) -> tuple[str, str]:
        rng = self.rng
        if rng.random() < NOISE["no_address"]:
            noise.append("no_address")
            return "", ""
        if rng.random() < NOISE["address_style"]:
            address = address.replace("神奈川県", "", 1)
            for pattern in _NUMBERS:
                address = pattern.sub(r"\1-", address)
            address = address.replace("-\u3000", "\u3000").rstrip("-")
            noise.append("address_style")
        return address, postal

    # -- files --------------------------------------------------------------------
    def write(self, inbox: Path) -> tuple[dict, pa.Table, pa.Table]:
        """Write the clinic files of the whole months drawn; returns (counts, screening truth, followup truth)."""
        truth = defaultdict(list)
        files = {"kenshin": 0, "seiken": 0}
        records = {"kenshin": 0, "seiken": 0}
        by_file: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for r in self.screenings:
            by_file[(r["clinic"], r["exam_date"].strftime("%Y%m"))].append(r)
        for (clinic, period), rows in sorted(by_file.items()):
            code = self.clinics[clinic]
            name = f"kenshin_{code}_{period}.csv"
            rows.sort(key=lambda r: r["exam_date"])
            created = month_bounds(rows[0]["exam_date"])[1] + dt.timedelta(days=int(self.rng.integers(1, 8)))
            out = []
            for n, r in enumerate(rows, start=1):
                noise = list(r["noise"])
                kana, kanji = self._keyed_names(r, noise)
                birth = self._keyed_birth(r["birth"], noise)
                address, postal = self._keyed_address(r["address"], r["postal_code"], noise)
                aid = ""
                if r["resident"] and self.rng.random() < NOISE["addressee_id"]:
                    aid = r["addressee_id"]
                    noise.append("addressee_id")
                out.append(("D", str(n), "", aid, kana, kanji, str(r["sex"]), birth, postal, address,
                            r["exam_type"], r["exam_date"].strftime("%Y%m%d"), r["result_code"],
                            "", r["fee_exempt"]))
                for key, value in (("file", name), ("line", n + 1), ("addressee_id", r["addressee_id"]),
                                   ("exam_type", r["exam_type"]), ("exam_date", r["exam_date"].isoformat()),
                                   ("result_code", r["result_code"]), ("noise", ",".join(noise))):
                    truth[key].append(value)
            header = ["H", "KENSHIN", code, period, created.strftime("%Y%m%d"), "代表\u3000者", "川崎市",
                      "044-000-0000"]
            records["kenshin"] += write_records(inbox / name, header, out, encoding="cp932")
            files["kenshin"] += 1
        follow_truth = defaultdict(list)
        by_hospital: dict[tuple[int, str], list[dict]] = defaultdict(list)
        for r in self.followups:
            by_hospital[(r["hospital"], r["followup_date"].strftime("%Y%m"))].append(r)
        for (hospital, period), rows in sorted(by_hospital.items()):
            code = self.clinics[hospital]
            name = f"seiken_{code}_{period}.csv"
            rows.sort(key=lambda r: r["followup_date"])
            created = month_bounds(rows[0]["followup_date"])[1] + dt.timedelta(days=int(self.rng.integers(1, 8)))
            out = []
            for n, r in enumerate(rows, start=1):
                aid = r["addressee_id"] if self.rng.random() < 0.3 else ""
                out.append(("D", str(n), aid, r["name_kana"].replace(" ", "\u3000"), r["name_kanji"],
                            str(r["sex"]), r["birth"].strftime("%Y%m%d"), r["exam_type"],
                            r["exam_date"].strftime("%Y%m%d"), r["followup_date"].strftime("%Y%m%d"), r["outcome"]))
                for key, value in (("file", name), ("line", n + 1), ("addressee_id", r["addressee_id"]),
                                   ("exam_type", r["exam_type"]), ("screening_exam_date", r["exam_date"].isoformat()),
                                   ("outcome", r["outcome"])):
                    follow_truth[key].append(value)
            records["seiken"] += write_records(inbox / name, ["H", "SEIKEN", code, period, created.strftime("%Y%m%d")],
                                               out, encoding="cp932")
            files["seiken"] += 1
        return ({"files": files, "records": records}, pa.table(dict(truth)) if truth else pa.table({}),
                pa.table(dict(follow_truth)) if follow_truth else pa.table({}))
