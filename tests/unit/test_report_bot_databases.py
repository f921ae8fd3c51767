"""`report --db` labels: which bot each database's trades belong to."""

from __future__ import annotations

import pytest

from profitguard.commands.report import bot_databases
from profitguard.commands.usage import UsageError


def test_bot_databases_when_one_then_unlabelled_and_when_several_then_named_by_database():
    assert bot_databases(["a/tradesv3.sqlite"]) == [(None, "a/tradesv3.sqlite")]
    assert bot_databases(["a/one.sqlite", "postgresql+psycopg://u:pw@h:5432/trades_b"]) == [
        ("one", "a/one.sqlite"),
        ("trades_b", "postgresql+psycopg://u:pw@h:5432/trades_b"),
    ]
    # two files of one name: their directories tell them apart
    assert [b for b, _ in bot_databases(["x/tradesv3.sqlite", "y/tradesv3.sqlite"])] == [
        "x/tradesv3",
        "y/tradesv3",
    ]


def test_bot_databases_when_named_then_the_names_kept():
    assert bot_databases(["bot-a=x/t.sqlite", "bot-b=postgresql://h/db?sslmode=require"]) == [
        ("bot-a", "x/t.sqlite"),
        ("bot-b", "postgresql://h/db?sslmode=require"),
    ]
    assert bot_databases(["bot-a=x/t.sqlite"]) == [("bot-a", "x/t.sqlite")]


def test_bot_databases_when_a_file_name_has_an_equals_sign_then_it_is_a_file(tmp_path):
    odd = tmp_path / "a=b.sqlite"
    odd.write_text("")
    assert bot_databases([str(odd)]) == [(None, str(odd))]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["bot-a="], "argument --db: 'bot-a=' names bot 'bot-a' but no database"),
        (["x=a.sqlite", "x=b.sqlite"], "argument --db: two databases labelled 'x'"),
    ],
)
def test_bot_databases_when_bad_then_usage_error_naming_the_value(values, message):
    with pytest.raises(UsageError, match=message.replace("?", r"\?")):
        bot_databases(values)
