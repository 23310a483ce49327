"""``portalis selfservice reindex`` rebuilds the knowledge-base index."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from portalis.core.cli import main
from portalis.plugins.selfservice.cli import selfservice
from tests.support.portal import Portal


async def wipe_index(portal: Portal) -> None:
    table = ("selfservice_article_fts" if portal.services.db.dialect == "sqlite"
             else "selfservice_article_search")
    await portal.services.db.execute(f"DELETE FROM {table}")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORTALIS_PLUGINS", "selfservice")
    main.add_command(selfservice)


async def test_reindex_command_restores_search(cases: Portal, database_url: str,
                                               cli_env: None) -> None:
    async def titles() -> list[str]:
        res = await cases.get("/_kb/search", params={"q": "password"})
        return [r["title"] for r in res.json()["value"]]

    assert await titles() == ["How to reset your password"]
    await wipe_index(cases)
    assert await titles() == []
    # the command runs its own event loop: run it outside this one
    import asyncio

    res = await asyncio.to_thread(CliRunner().invoke, main,
                                  ["--database", database_url, "selfservice", "reindex"])
    assert res.exit_code == 0, res.output
    assert "indexed 3 articles" in res.output
    assert await titles() == ["How to reset your password"]
