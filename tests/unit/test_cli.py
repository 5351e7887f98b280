"""The `fpps` command line: what a new user reads first (`--help`) and how flags reach the server."""

from __future__ import annotations

import argparse

import pytest

from fpps.cli import build_parser


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    action = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


@pytest.mark.parametrize("command", sorted(_subparsers()))
def test_every_flag_has_help_text(command):
    parser = _subparsers()[command]
    missing = [a.option_strings[0] if a.option_strings else a.dest for a in parser._actions
               if not isinstance(a, argparse._HelpAction) and not (a.help or "").strip()]
    assert missing == []
    assert parser.format_help()  # renders (no bad % placeholders)


def test_serve_database_url_comes_from_the_flag_then_the_environment(monkeypatch):
    import fpps.cli as cli
    import fpps.server.http.app as app

    seen = []
    monkeypatch.setattr(app, "run_local", lambda server_args, ready_file=None: seen.append(server_args) or 0)
    monkeypatch.setenv("FPPS_DATABASE_URL", "sqlite:///from-env.db")
    assert cli.main(["serve"]) == 0
    assert cli.main(["serve", "--database-url", "sqlite:///from-flag.db"]) == 0
    monkeypatch.delenv("FPPS_DATABASE_URL")
    assert cli.main(["serve"]) == 0
    assert [a.database_url for a in seen] == ["sqlite:///from-env.db", "sqlite:///from-flag.db", None]
