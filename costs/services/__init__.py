"""The costs app's verbs: the only code that creates or changes its rows.

``prices`` (price lookup and price-list import), ``usage`` (the ledger and outcomes),
``budgets`` (reserve, settle, expiry, reconciliation), ``rollups`` (daily rollup rows),
``demo`` (seeded prices).
"""
