"""Settings reach the commands and the service as values, never through environment variables."""

import os

from typer.testing import CliRunner

from needradar.cli import app
from needradar.commands.serve import bentoml_command


def _needradar_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(("NEEDRADAR_", "ACME_", "MLFLOW_TRACKING"))}


def test_config_option_is_used_without_touching_the_environment(tmp_path):
    config = tmp_path / "acme.yaml"
    config.write_text("serving:\n  api_key_env: ACME_RADAR_KEY\n")
    before = _needradar_environment()
    result = CliRunner().invoke(app, ["--config", str(config), "serve"], env={"ACME_RADAR_KEY": ""})
    assert result.exit_code != 0
    assert "ACME_RADAR_KEY is not set" in str(result.exception)  # the key variable the config names
    assert _needradar_environment() == before


def test_a_bad_config_file_is_named(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("serving:\n  page_size: 100\n")
    result = CliRunner().invoke(app, ["--config", str(config), "models", "list"])
    assert f"{config}: serving.page_size: unknown key" in str(result.exception)


def test_the_service_gets_config_and_insecure_as_bentoml_arguments(tmp_path):
    args = bentoml_command("127.0.0.1", 3001, tmp_path / "c.yaml", insecure=True)
    assert args[args.index("--port") + 1] == "3001"
    pairs = [args[i + 1] for i, arg in enumerate(args) if arg == "--arg"]
    assert pairs == [f"config={(tmp_path / 'c.yaml').resolve()}", "insecure=true"]
    assert "--arg" not in bentoml_command("127.0.0.1", 3001)
