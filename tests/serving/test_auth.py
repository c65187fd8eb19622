"""Role keys and path rules without a server: the pure functions the middleware and pages share."""

from __future__ import annotations

import time

import pytest

from core.config import Settings, load_config
from core.errors import NeedradarError
from serving import auth


@pytest.fixture
def cfg(tmp_path, monkeypatch) -> Settings:
    monkeypatch.setenv("NEEDRADAR_HOME", str(tmp_path))
    monkeypatch.delenv("NEEDRADAR_API_KEY", raising=False)
    s = load_config()
    return s.model_copy(update={"security": s.security.model_copy(update={"key_cache_seconds": 0})})


@pytest.mark.parametrize(
    "role, path, ok",
    [
        ("app", "/score", True),
        ("app", "/at_risk", False),
        ("app", "/score/", False),
        ("retention", "/at_risk", True),
        ("retention", "/ui", True),
        ("retention", "/ui/customer/C1", True),
        ("retention", "/ui/customerx", False),
        ("retention", "/ui/volumes", False),
        ("planner", "/ui", False),
        ("retention", "/forecast", False),
        ("planner", "/forecast", True),
        ("planner", "/ui/volumes", True),
        ("planner", "/reload", False),
        ("admin", "/reload", True),
        ("admin", "/anything", True),
        (None, "/score", False),
        ("root", "/score", False),
    ],
)
def test_allowed(role, path, ok):
    assert auth.allowed(role, path) is ok


def test_required_role_names_the_least_powerful():
    assert [auth.required_role(p) for p in ("/score", "/at_risk", "/forecast", "/reload", "/model_info")] == [
        "app",
        "retention",
        "planner",
        "admin",
        "admin",
    ]


def test_open_paths_are_exact():
    assert auth.is_open("/livez") and auth.is_open("/docs") and auth.is_open("/static_content/x.js")
    assert not any(auth.is_open(p) for p in ("/livez/", "/docsx", "/metrics/more", "/static_content"))


@pytest.mark.parametrize(
    "headers, token",
    [
        ([(b"authorization", b"Bearer abc")], b"abc"),
        ([(b"Authorization", b"bearer abc ")], b"abc"),
        ([], None),
        ([(b"authorization", b"Bearer \xff\xfe")], None),
        ([(b"authorization", b"Bearer a b")], None),
        ([(b"authorization", b"Basic abc")], None),
        ([(b"authorization", b"Bearer " + b"x" * 2000)], None),
        ([(b"authorization", b"Bearer abc")] * 2, None),
    ],
)
def test_bearer(headers, token):
    assert auth.bearer(headers, 1024) == token


def test_keys_are_stored_hashed_and_revocable(cfg):
    key = auth.add_key(cfg, "shop-app", "app")
    stored = auth.keys_path(cfg).read_text()
    assert key not in stored and auth.hash_key(key.encode()) in stored
    assert oct(auth.keys_path(cfg).stat().st_mode & 0o777) == "0o600"
    assert auth.role_for(key.encode(), cfg) == "app"
    assert auth.role_for(b"nr_wrong", cfg) is None
    with pytest.raises(NeedradarError, match="a key named 'shop-app' exists"):
        auth.add_key(cfg, "shop-app", "admin")
    with pytest.raises(NeedradarError, match="unknown role 'root'; choose one of app, retention"):
        auth.add_key(cfg, "x", "root")
    time.sleep(0.01)  # a new mtime for the cache
    auth.revoke_key(cfg, "shop-app")
    assert auth.role_for(key.encode(), cfg) is None
    with pytest.raises(NeedradarError, match="no key named 'shop-app' \\(known: none\\)"):
        auth.revoke_key(cfg, "shop-app")


def test_environment_key_is_admin(cfg, monkeypatch):
    monkeypatch.setenv("NEEDRADAR_API_KEY", "one-person-key")
    cfg = load_config()  # the key is read once, with the other settings
    assert auth.identify(b"one-person-key", cfg) == auth.Caller("env-admin", "admin")
    assert auth.role_for(b"one-person-key ", cfg) is None


def test_sessions_die_with_their_key(cfg):
    key = auth.add_key(cfg, "ana", "retention")
    caller = auth.identify(key.encode(), cfg)
    cookie = auth.session_value(caller, cfg)
    assert key not in cookie and auth.caller_from_session(cookie, cfg) == caller
    assert auth.caller_from_session("ana." + "0" * 64, cfg) is None
    auth.revoke_key(cfg, "ana")
    assert auth.caller_from_session(cookie, cfg) is None


def test_broken_key_file_is_named(cfg):
    auth.keys_path(cfg).write_text("{not json")
    with pytest.raises(NeedradarError, match="keys.json: not a needradar key file"):
        auth.read_keys(auth.keys_path(cfg))


def test_dashboard_pages_without_a_bearer_check_their_own_session():
    assert auth.checks_own_session("/ui/retention", has_bearer=False)
    assert auth.checks_own_session("/ui", has_bearer=False)
    assert not auth.checks_own_session("/ui/retention", has_bearer=True)
    assert not auth.checks_own_session("/uix", has_bearer=False)
    assert not auth.checks_own_session("/score", has_bearer=False)


def test_a_broken_key_file_keeps_the_last_good_keys(cfg, caplog):
    key = auth.add_key(cfg, "kept", "planner")
    assert auth.role_for(key.encode(), cfg) == "planner"
    auth.keys_path(cfg).write_text("{broken")
    assert auth.role_for(key.encode(), cfg) == "planner"
    assert "not a needradar key file" in caplog.text


def test_insecure_binds_to_loopback_only():
    from typer.testing import CliRunner

    from needradar.cli import app

    result = CliRunner().invoke(app, ["serve", "--insecure", "--host", "0.0.0.0"])
    assert result.exit_code != 0
    assert "--insecure serves without keys, so it binds to loopback only, not 0.0.0.0" in str(
        result.exception
    )
