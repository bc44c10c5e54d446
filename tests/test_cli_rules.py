"""The main command's rules for outputs and options: nothing replaced without --force, no option
silently ignored, and messages a person reads as written."""

import pytest
from click.testing import CliRunner

from digitgen.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args))


def test_an_existing_output_is_replaced_only_with_force(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run("--seed", "1", "--n", "1").exit_code == 0
    first = (tmp_path / "digits.png").read_bytes()
    again = run("--seed", "2", "--n", "4")  # the default name: the next free one, said so
    assert again.exit_code == 0 and again.output.startswith("digits-2.png  (4 digits, seed 2")
    assert "digits.png exists and was kept" in again.output
    assert (tmp_path / "digits.png").read_bytes() == first
    refused = run("--seed", "3", "--out", "digits.png")  # a name the user gave: refused
    assert refused.exit_code == 2 and "digits.png exists: add --force to replace it" in refused.output
    assert (tmp_path / "digits.png").read_bytes() == first
    assert run("--seed", "3", "--out", "digits.png", "--force").exit_code == 0
    assert (tmp_path / "digits.png").read_bytes() != first
    npy = tmp_path / "digits.npy"
    npy.write_bytes(b"a thousand digits")
    assert run("--format", "npy", "--out", str(npy)).exit_code == 2 and npy.read_bytes() == b"a thousand digits"


@pytest.mark.parametrize("args, message", [
    (["--number", "2026", "--n", "5"], "--n does not apply to --number"),
    (["--number", "2026", "--cols", "2"], "--cols does not apply to --number"),
    (["--format", "npy", "--scale", "2"], "--scale does not apply to an .npy array"),
    (["--out", "x.npy", "--cols", "4"], "--cols does not apply to an .npy array"),
    (["--seed", "3", "bench"], "--seed is an option of digitgen itself, not of bench"),
    (["--n", "5", "info"], "--n is an option of digitgen itself, not of info"),
    (["--out", "-", "--force"], "--force does not apply to --out -"),
])
def test_an_option_the_mode_ignores_is_refused(tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2 and message in result.output and len(result.output.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_one_digit_is_singular_and_help_summaries_are_whole(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert "(1 digit, seed 1" in run("--seed", "1", "--n", "1").output
    commands = run("--help").output.split("Commands:")[1].split("Examples:")[0]
    assert "..." not in commands and "serve    Serve digits over HTTP, with a page for people." in commands
