"""The `webknossos` client's user and team calls against the local stack, as an admin.

WK_URL, WK_TOKEN: the admin's; MEMBER_ID: a member of the admin's organization. Leaves the member as team
manager of "Client Team", for the calling test to check.
"""

import os
import warnings

warnings.filterwarnings("ignore")

import webknossos as wk  # noqa: E402

member_id = os.environ["MEMBER_ID"]
me = wk.User.get_current_user()
managed = wk.User.get_all_managed_users()
assert {u.user_id for u in managed} >= {me.user_id, member_id}, managed

member = wk.User.get_by_id(member_id)
assert member.user_id == member_id and member.organization_id == me.organization_id, member

team = wk.Team.add("Client Team")
assert wk.Team.get_by_name("Client Team").id == team.id
assert team.id in [t.id for t in wk.Team.get_list()]
assert wk.Team.get_by_id(team.id).name == "Client Team"
try:
    wk.Team.add("Client Team")
except Exception as error:  # the client raises on the 409
    assert "409" in str(error) or "already" in str(error), error
else:
    raise AssertionError("adding a team twice must fail")

member.assign_team_roles(team, is_team_manager=True)
assert "Client Team" in [t.name for t in wk.User.get_by_id(member_id).teams]
member.assign_team_roles("Client Team", is_team_manager=True)  # by name, and idempotent

temporary = wk.Team.add("Temporary Team")
temporary.delete()
assert "Temporary Team" not in [t.name for t in wk.Team.get_list()]
print(f"webknossos client: {len(managed)} managed users, team {team.name} assigned and a team deleted")
