"""The synthetic "other municipalities": the screening history the people who
moved into the synthetic city left behind at their previous municipality
(`truth/previous_municipalities.parquet`), which the network simulator
(kenshin.lab.network_simulator) answers linkage queries from.

Per person who moved in, per programme they were a target of in each of the
five fiscal years before the move-in, a screening with the synthetic clinics'
yearly rate, result shares and outcomes (synth.clinics), on a day of that year.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from kenshin.lab.synth.clinics import ANNUAL_RATE, FOLLOWED_UP, OUTCOME_SHARES, RESULT_SHARES
from kenshin.platform import vocabulary
from kenshin.programmes import rules as programmes

YEARS_BEFORE = 5


def previous_history(persons: pa.Table, events: pa.Table, seed: int) -> pa.Table:
    """Screenings at the previous municipality of everyone with a move-in event."""
    rng = np.random.default_rng([seed, 0x5EED])
    rules = programmes.exam_types()
    people = {aid: (int(sex), dt.date.fromisoformat(birth))
              for aid, sex, birth in zip(persons.column("addressee_id").to_pylist(), persons.column("sex").to_pylist(),
                                         persons.column("birth_date").to_pylist(), strict=True)}
    out: dict[str, list] = {"addressee_id": [], "exam_type": [], "exam_date": [], "result_code": [],
                            "followup_outcome": []}
    moves = sorted({(aid, day) for aid, code, day in zip(
        events.column("addressee_id").to_pylist(), events.column("event_code").to_pylist(),
        events.column("event_date").to_pylist(), strict=True) if code == "02"})
    for aid, day in moves:
        if aid not in people:
            continue
        sex, birth = people[aid]
        moved = dt.date.fromisoformat(day)
        last_fy = programmes.fiscal_year(moved) - 1
        for fy in range(last_fy - YEARS_BEFORE + 1, last_fy + 1):
            start = programmes.fiscal_year_start(fy)
            for code, rule in rules.items():
                rate = ANNUAL_RATE.get(code, 0.0)
                if not rate or rule.refusal(sex, rule.age(birth, start)) or rng.random() >= rate:
                    continue
                exam = start + dt.timedelta(days=int(rng.integers(0, 365)))
                share = RESULT_SHARES[code][0]
                result = "3" if rng.random() < share else "1"
                outcome = (str(int(rng.choice(len(OUTCOME_SHARES), p=OUTCOME_SHARES)) + 1)
                           if (code, result) in vocabulary.needs_detailed_exam() and rng.random() < FOLLOWED_UP
                           else "")
                out["addressee_id"].append(aid)
                out["exam_type"].append(code)
                out["exam_date"].append(exam)
                out["result_code"].append(result)
                out["followup_outcome"].append(outcome)
    return pa.table({"addressee_id": pa.array(out["addressee_id"], pa.string()),
                     "exam_type": pa.array(out["exam_type"], pa.string()),
                     "exam_date": pa.array(out["exam_date"], pa.date32()),
                     "result_code": pa.array(out["result_code"], pa.string()),
                     "followup_outcome": pa.array(out["followup_outcome"], pa.string())})
