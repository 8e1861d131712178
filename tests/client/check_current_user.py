"""Runs the real `webknossos` client (PyPI, unchanged) against the local stack.

Reads WK_URL and WK_TOKEN like any user of the package; EXPECT_EMAIL and EXPECT_ORGANIZATION say who the
token belongs to. Exits non-zero with a message when anything differs.
"""

import os
import warnings
from importlib.metadata import version

warnings.filterwarnings("ignore")

import webknossos as wk  # noqa: E402

user = wk.User.get_current_user()
expected = (os.environ["EXPECT_EMAIL"], os.environ["EXPECT_ORGANIZATION"])
actual = (user.email, user.organization_id)
assert actual == expected, f"get_current_user returned {actual}, expected {expected}"
assert user.is_admin and user.is_active, user
assert [team.name for team in user.teams] == ["Default"], user.teams
print(f"webknossos {version('webknossos')}: get_current_user() -> {user.email} in {user.organization_id}")
