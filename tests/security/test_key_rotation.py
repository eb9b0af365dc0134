"""Rotation of the individual number's encryption key: every stored number is
re-encrypted, the old key decrypts none of them any more, the keyed-hash
lookups still find the same people, and loading goes on under the new key."""

from __future__ import annotations

import base64
import json

import psycopg
import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidTag

from builders import jumin_file, people
from kenshin.cli import main
from kenshin.ingest.loading import ingest_file
from kenshin.platform import crypto

pytestmark = pytest.mark.integration

NEW_KEY = base64.b64encode(b"n" * 32).decode()


@pytest.fixture
def fresh_protector():
    crypto.protector.cache_clear()
    yield
    crypto.protector.cache_clear()


def stored(url):
    with psycopg.connect(url) as conn:
        person = conn.execute("select addressee_id, my_number_enc, my_number_hmac from core.person "
                              "order by 1").fetchall()
        landing = conn.execute("select addressee_id, my_number_enc from landing.jumin "
                               "where my_number_enc is not null").fetchall()
    return person, landing


def test_rotation_reencrypts_every_number_and_the_old_key_is_useless(db_url, tmp_path, monkeypatch, fresh_protector):
    ps = people(30)
    assert ingest_file(jumin_file(tmp_path, "20261001", "full", [p.jumin_row() for p in ps]), url=db_url).loaded == 30
    old = crypto.protector()
    numbers = {p.addressee_id: p.my_number for p in ps}
    before, landing_before = stored(db_url)
    assert {bytes(b)[0] for _, b, _ in before} == {1} and len(landing_before) == 30

    monkeypatch.setenv("KENSHIN_DATABASE_URL", db_url)
    monkeypatch.setenv("KENSHIN_MY_NUMBER_KEY_NEW", NEW_KEY)
    result = CliRunner().invoke(main, ["keys", "rotate"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[0]) == {
        "key_id": 2, "reencrypted": {"core.person": 30, "landing.jumin": 30}}

    after, landing_after = stored(db_url)
    new = crypto.Protector(base64.b64decode(NEW_KEY), old.hmac_key, 2)
    for (aid, blob, mac), (_, old_blob, old_mac) in zip(after, before, strict=True):
        blob = bytes(blob)
        assert blob[0] == 2 and blob != bytes(old_blob)
        assert new.decrypt(blob, aid) == numbers[aid]
        # the old key: refused by its id, and even under the new id it cannot open the ciphertext
        with pytest.raises(crypto.KeyError_):
            old.decrypt(blob, aid)
        with pytest.raises(InvalidTag):
            crypto.Protector(old.enc_key, old.hmac_key, 2).decrypt(blob, aid)
        assert mac == old_mac == old.hmac(numbers[aid], "my_number")
    assert all(new.decrypt(bytes(b), aid.strip()) == numbers[aid.strip()] for aid, b in landing_after)
    with psycopg.connect(db_url) as conn:
        assert conn.execute("select count(*) from audit.change_log where table_name = 'core.person' "
                            "and changed_columns = '{my_number_enc}'").fetchone()[0] == 30

    # the deployment switches to the new key: loading and keyed-hash lookups go on
    monkeypatch.setenv("KENSHIN_MY_NUMBER_KEY", NEW_KEY)
    monkeypatch.setenv("KENSHIN_MY_NUMBER_KEY_ID", "2")
    crypto.protector.cache_clear()
    moved = ps[0].but(address="神奈川県川崎市高津区溝口1丁目2番3号", postal_code="213-0001", ward_code="141348")
    newcomer = people(1, start=500)[0]
    assert ingest_file(jumin_file(tmp_path, "20261002", "diff", [moved.jumin_row("05", "20261002"),
                                                                   newcomer.jumin_row("01", "20261002")]),
                       url=db_url).loaded == 2
    with psycopg.connect(db_url) as conn:
        found = conn.execute("select addressee_id, my_number_enc from core.person where my_number_hmac = %s",
                             (crypto.protector().hmac(ps[0].my_number, "my_number"),)).fetchall()
        added = conn.execute("select my_number_enc from core.person where addressee_id = %s",
                             (newcomer.addressee_id,)).fetchone()[0]
    assert [f[0] for f in found] == [ps[0].addressee_id]
    assert crypto.protector().decrypt(bytes(added), newcomer.addressee_id) == newcomer.my_number


def test_rotation_refuses_the_same_key_id_and_a_missing_key(db_url, monkeypatch, fresh_protector):
    monkeypatch.setenv("KENSHIN_DATABASE_URL", db_url)
    monkeypatch.delenv("KENSHIN_MY_NUMBER_KEY_NEW", raising=False)
    assert "is not set" in CliRunner().invoke(main, ["keys", "rotate"]).output
    monkeypatch.setenv("KENSHIN_MY_NUMBER_KEY_NEW", NEW_KEY)
    out = CliRunner().invoke(main, ["keys", "rotate", "--new-key-id", "1"]).output
    assert "must differ" in out and NEW_KEY not in out
