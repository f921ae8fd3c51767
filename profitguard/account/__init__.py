"""A shared account: one risk budget for many bots, kept in PostgreSQL.

- `schema`: the account's tables (SQLAlchemy Core), created when missing;
- `store.AccountStore`: every read and write, each in one transaction that locks the
  account's row (admission, publishing, the switches);
- `snapshot`: pure; the tables' rows as the `Account` the gate's rules read, and refusals
  naming the bot that holds what.

The Freqtrade glue is `profitguard.freqtrade.gate.shared`.
"""
