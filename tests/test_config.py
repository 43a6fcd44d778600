"""Settings: strict parsing, clear errors naming the variable, secrets generated or required."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from advocacy import create_app
from advocacy.config import ConfigError, load
from tests.conftest import ROOT


def test_environment_values_are_parsed_into_types():
    config = load(None, {"ADVOCACY_HTTP_TIMEOUT": "2.5", "ADVOCACY_DELIVERY_MAX_ATTEMPTS": "7",
                         "DATABASE_URL": "postgres://u@db/advocacy", "REDIS_URL": "redis://cache:6379/2"})
    assert config["HTTP_TIMEOUT"] == 2.5 and config["DELIVERY_MAX_ATTEMPTS"] == 7
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db/advocacy"
    assert config["REDIS_URL"] == "redis://cache:6379/2"


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("ADVOCACY_HTTP_TIMEOUT", "soon", "ADVOCACY_HTTP_TIMEOUT: expected a number"),
    ("ADVOCACY_DELIVERY_MAX_ATTEMPTS", "0", "ADVOCACY_DELIVERY_MAX_ATTEMPTS: expected a whole number of at least 1"),
    ("ADVOCACY_X_API_BASE_URL", "api.x.com", "ADVOCACY_X_API_BASE_URL: expected an http(s) URL"),
    ("DATABASE_URL", "mysql://db/advocacy", "DATABASE_URL: expected a sqlite:/// or postgresql:// URL"),
    ("REDIS_URL", "http://cache", "REDIS_URL: expected a redis://"),
    ("ADVOCACY_ENV", "staging", "ADVOCACY_ENV: expected one of development, production"),
    ("ADVOCACY_X_API_BASEURL", "https://api.x.com", "ADVOCACY_X_API_BASEURL is not a setting"),
])
def test_bad_values_and_unknown_variables_name_the_variable(variable, value, expected):
    with pytest.raises(ConfigError) as raised:
        load(None, {variable: value})
    assert expected in str(raised.value)


def test_a_typo_is_answered_with_the_likely_setting():
    with pytest.raises(ConfigError, match="did you mean ADVOCACY_HTTP_TIMEOUT"):
        load(None, {"ADVOCACY_HTTP_TIMOUT": "3"})


def test_the_process_refuses_to_start_and_names_the_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADVOCACY_")}
    env.update(ADVOCACY_INSTANCE_PATH=str(tmp_path), ADVOCACY_HTTP_TIMEOUT="fast")
    done = subprocess.run([sys.executable, "-m", "advocacy.cli", "settings"], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "ADVOCACY_HTTP_TIMEOUT: expected a number, got 'fast'" in done.stderr
    assert "Traceback" not in done.stderr


def test_production_refuses_to_start_without_explicit_secrets(tmp_path):
    with pytest.raises(ConfigError, match="ADVOCACY_SECRET_KEY, ADVOCACY_TOKEN_KEYS, DATABASE_URL, REDIS_URL"):
        create_app({"ENV": "production", "INSTANCE_PATH": str(tmp_path)})


def test_embedded_default_generates_private_secrets_once(tmp_path, monkeypatch):
    for variable in ("DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(variable, raising=False)
    first = create_app({"INSTANCE_PATH": str(tmp_path)})
    second = create_app({"INSTANCE_PATH": str(tmp_path)})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"] and len(first.config["SECRET_KEY"]) > 40
    for name in ("secret_key", "token_keys"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert first.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'advocacy.db'}"


def test_processes_starting_at_once_on_a_fresh_instance_agree_on_its_secrets(tmp_path):
    """gunicorn's workers of a new installation load the configuration at the same moment: every one gets the same
    whole keys (none reads a file another is still writing, none fails on one another created)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    script = ("import sys; from pathlib import Path; from advocacy.config import finish\n"
              "config = {'ENV': 'development', 'SECRET_KEY': '', 'TOKEN_KEYS': '', 'SQLALCHEMY_DATABASE_URI': 'x'}\n"
              "finish(config, Path(sys.argv[1])); print(config['SECRET_KEY'], config['TOKEN_KEYS'])")
    for round_ in range(3):
        instance = tmp_path / f"instance-{round_}"
        starting = [subprocess.Popen([sys.executable, "-c", script, str(instance)], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(6)]
        answers = [p.communicate(timeout=60) for p in starting]
        assert all(p.returncode == 0 for p in starting), [err for _, err in answers]
        assert len({out for out, _ in answers}) == 1
        secret, token_keys = answers[0][0].split()
        assert (instance / "secret_key").read_text().strip() == secret and len(secret) > 40
        assert (instance / "token_keys").read_text().strip() == token_keys
        assert sorted(p.name for p in instance.iterdir()) == ["secret_key", "token_keys"]  # no draft left behind


def test_a_bad_token_key_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="ADVOCACY_TOKEN_KEYS: key 2 is not a Fernet key"):
        create_app({"INSTANCE_PATH": str(tmp_path),
                    "TOKEN_KEYS": "2qRAJxv8b2-4gSYMqGzHkkqRKkfEd2FJ7e8qVh9aYrU=,not-a-key"})


def test_creating_the_app_opens_no_connection(tmp_path):
    """Nothing connects at import or creation: an unreachable database and Redis do not stop create_app."""
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SQLALCHEMY_DATABASE_URI": "postgresql://nobody@127.0.0.1:1/x",
                      "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert app.name == "advocacy"
