"""The "Screening operations" plugin as Airflow loads it: its app and its view, and
no page without a sign-in (the browser test signs in against a real api-server)."""

from __future__ import annotations


def test_airflow_loads_the_plugin_with_its_app_and_view():
    from airflow import plugins_manager

    apps, _ = plugins_manager.get_fastapi_plugins()
    assert [(a["name"], a["url_prefix"]) for a in apps if a["name"] == "Screening operations"] == [
        ("Screening operations", "/kenshin-ops")]
    views = [v for p in plugins_manager.get_plugin_info(["external_views"]) for v in p.get("external_views", [])]
    assert [(v["href"], v["url_route"]) for v in views if v["name"] == "Screening operations"] == [
        ("/kenshin-ops/", "screening-operations")]


def test_a_request_without_a_sign_in_is_refused():
    from airflow.api_fastapi.app import init_auth_manager
    from fastapi.testclient import TestClient

    from kenshin_airflow.operations_view import app

    init_auth_manager()  # as the api-server does (SimpleAuthManager here)
    client = TestClient(app)
    assert client.get("/").status_code == 401
    assert client.get("/?month=2026-10").status_code == 401
    assert client.get("/", cookies={"_token": "forged"}).status_code in (401, 403)
    assert client.get("/", headers={"Authorization": "Bearer forged"}).status_code in (401, 403)
