"""Turnover statistics (技术合同成交额) from the contract register: figures, breakdowns, the
officials' dashboard, the register list with CSV export, Excel reports, the API and the CLI.

`query.py` is the one query path: a figure, a breakdown row and the list behind them are built
from the same filter function, so a list's totals always equal the figure it was opened from."""
