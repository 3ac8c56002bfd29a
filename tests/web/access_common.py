"""The vocabulary of the access matrix (tests/web/test_access_matrix.py), shared with the modules
that contribute rows for their own routes (access_*.py next to it)."""

from __future__ import annotations

ROLES = ("anonymous", "owner", "other_member", "enterprise", "broker", "official", "admin")

OK, LOGIN, FORBIDDEN, NOT_FOUND = "ok", "login", 403, 404
A, O, M, E, B, F, D = ROLES  # noqa: E741 - one letter per column keeps the table readable

EVERYONE = dict.fromkeys(ROLES, OK)
LOGGED_IN = {**EVERYONE, A: LOGIN}
ADMIN_ONLY = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: OK}
OWNER_ONLY = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
OWNER_OR_ADMIN = {**OWNER_ONLY, D: OK}
PRIVATE_LISTING = {A: FORBIDDEN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: OK, D: OK}
LISTING_MEMBERS = {A: LOGIN, O: OK, M: OK, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
API_LOGGED_IN = {**EVERYONE, A: LOGIN}
# An inquiry thread from the enterprise member to the owner's organisation; admins read only.
THREAD_PARTIES = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: OK}
