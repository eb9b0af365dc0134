"""Key rotation for the individual number (個人番号) encryption.

`rotate` re-encrypts every stored ciphertext (core.person, and the raw rows
still in landing.jumin) from the current key (`KENSHIN_MY_NUMBER_KEY`, id
`KENSHIN_MY_NUMBER_KEY_ID`) to a new one, in ONE transaction that holds the
loader off both tables: every number is under the new key, or none. The new
key comes from the environment too (a secrets backend in production), never
from a command-line argument. The HMAC key is not rotated: the keyed hashes
(lookups and joins, the insured number's hash, whose plain value the platform
never keeps) stay valid. Afterwards the deployment sets the new key and id;
the old key no longer decrypts anything and can be destroyed.
"""

from __future__ import annotations

import logging

from kenshin.platform import db
from kenshin.platform.crypto import KeyError_, Protector, protector

log = logging.getLogger(__name__)

# table, the column(s) that key a row, the owner the ciphertext is bound to (AES-GCM associated data)
TARGETS = (
    ("core.person", ("addressee_id",), "addressee_id"),
    ("landing.jumin", ("load_id", "line_no"), "landing.ascii_digits(addressee_id)"),
)
BATCH = 50_000


def rotate(new_key: bytes, new_key_id: int, current: Protector | None = None, *, url: str | None = None) -> dict:
    """Re-encrypt every stored individual number with `new_key` (id `new_key_id`)."""
    old = current or protector()
    if new_key_id == old.key_id:
        raise KeyError_("the new key id must differ from the current key id")
    if len(new_key) != 32:
        raise KeyError_("the new key must be 32 bytes")
    new = Protector(new_key, old.hmac_key, new_key_id)
    counts = {}
    with db.connect(url) as conn:
        conn.execute("lock table core.person, landing.jumin in exclusive mode")
        for table, keys, owner in TARGETS:
            columns = ", ".join(keys)
            conn.execute(f"create temp table rekey on commit drop as select {columns}, my_number_enc "
                         f"from {table} where false")
            n = 0
            with conn.cursor(name="rekey_source") as source:
                source.itersize = BATCH
                source.execute(f"select {columns}, {owner}, my_number_enc from {table} "
                               f"where my_number_enc is not null and get_byte(my_number_enc, 0) <> %s",
                               (new_key_id,))
                while rows := source.fetchmany(BATCH):
                    with conn.cursor().copy(f"copy rekey ({columns}, my_number_enc) from stdin") as copy:
                        for row in rows:
                            *key, who, blob = row
                            copy.write_row((*key, new.encrypt(old.decrypt(bytes(blob), who), who)))
                    n += len(rows)
            match = " and ".join(f"t.{k} = r.{k}" for k in keys)
            updated = conn.execute(f"update {table} t set my_number_enc = r.my_number_enc from rekey r "
                                   f"where {match}").rowcount
            left = conn.execute(f"select count(*) from {table} where my_number_enc is not null "
                                f"and get_byte(my_number_enc, 0) <> %s", (new_key_id,)).fetchone()[0]
            if updated != n or left:
                raise KeyError_(f"{table}: {n} re-encrypted, {updated} updated, {left} still under another key")
            conn.execute("drop table rekey")
            counts[table] = n
            log.info("%s: %d individual numbers re-encrypted under key id %d", table, n, new_key_id)
        conn.commit()
    return {"key_id": new_key_id, "reencrypted": counts}
