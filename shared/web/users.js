// @ts-check
// The Users page and its dialogs: Edit Teams & Permissions, Change Experience, Activate, Edit, Invite Users.

import { PAGE_SIZE, adminFrame, api, checkbox, date, dialog, field, fullName, h, isTeamManager, link, messageOf, nextId, notice, skippedNote, table } from "./dom.js";
import { signedIn } from "./auth.js";
import { experienceText, experienceValues, firstPage, pageAnswered, pageQuery, plural, rightChange, teamChanges, teamStates, turnPage, waitingForActivation } from "./rules.js";

/** The teams a person may hand out: all for admins, the managed ones for team managers. */
export async function assignableTeams(user) {
  const answer = await api("GET", user.isAdmin ? "/teams" : "/teams?isEditable=true");
  return answer.ok ? answer.body : [];
}

/** One role selector per team (not a member / Member / Team Manager), each starting at its team's state
 * ("", "member", "manager", or "mixed", which offers "Mixed: leave as is"). Gives the fieldset and, per
 * team, its id, state and chosen value. */
export function teamSelectors(teams, states) {
  const selects = teams.map((team) => {
    const id = `field-${nextId()}`;
    const state = states.get(team.id) ?? "";
    const select = h("select", { id, "data-team": team.id },
      state === "mixed" ? h("option", { value: "mixed" }, "Mixed: leave as is") : null,
      h("option", { value: "" }, "Not a member"),
      h("option", { value: "member" }, "Member"),
      h("option", { value: "manager" }, "Team Manager"));
    select.value = state;
    return [team, id, select, state];
  });
  const element = h("fieldset", { class: "teams" }, h("legend", {}, "Teams"),
    selects.length ? selects.map(([team, id, select]) => h("div", { class: "team-role" }, h("label", { for: id }, team.name), select)) : h("p", {}, "There are no teams you may assign."));
  return { element, choices: () => selects.map(([team, , select, state]) => ({ id: team.id, state, chosen: select.value })) };
}

/** Team selectors for one person; `roles` maps team id to isTeamManager. `value()` gives the memberships
 * as the API takes them. */
export function teamRoles(teams, roles = new Map()) {
  const states = new Map([...roles].map(([id, manager]) => [id, manager ? "manager" : "member"]));
  const { element, choices } = teamSelectors(teams, states);
  element.value = () => choices().filter((c) => c.chosen).map((c) => ({ id: c.id, isTeamManager: c.chosen === "manager" }));
  return element;
}

/** Admin and dataset manager rights (admins only: team managers cannot grant them). */
export function permissions(viewer, current = {}) {
  if (!viewer.isAdmin) return { element: null, value: () => ({}) };
  const [adminRow, admin] = checkbox("Admin", { checked: Boolean(current.isAdmin) });
  const [managerRow, datasetManager] = checkbox("Dataset manager", { checked: Boolean(current.isDatasetManager) });
  return {
    element: h("fieldset", {}, h("legend", {}, "Permissions"), adminRow, managerRow),
    value: () => ({ isAdmin: admin.checked, isDatasetManager: datasetManager.checked }),
  };
}

/** Team selectors for a selection of users, starting at how they stand (`teamStates`). `value()` gives
 * only the teams changed, as the bulk route takes them (`setTeams`, `removeTeams`): the teams left alone
 * stay as each user has them. */
export function teamChangeFields(teams, states) {
  const { element, choices } = teamSelectors(teams, states);
  element.value = () => teamChanges(choices());
  return element;
}

/** Admin and dataset manager rights for a selection (admins only): each box starts checked when all of
 * them have the right, unchecked when none has, half-checked ("mixed") when some have; `value()` gives
 * only the rights the person changed. */
export function selectionPermissions(viewer, users) {
  if (!viewer.isAdmin) return { element: null, value: () => ({}) };
  const right = (label, key) => {
    const holders = users.filter((user) => user[key]).length;
    const [row, input] = checkbox(label, { checked: holders === users.length });
    input.indeterminate = holders > 0 && holders < users.length;
    if (input.indeterminate) row.append(h("span", { class: "hint" }, `${holders} of ${users.length} have it`));
    const [startedChecked, startedMixed] = [input.checked, input.indeterminate];
    return [row, () => rightChange(key, { startedChecked, startedMixed, checked: input.checked, mixed: input.indeterminate })];
  };
  const [adminRow, admin] = right("Admin", "isAdmin");
  const [managerRow, datasetManager] = right("Dataset manager", "isDatasetManager");
  return { element: h("fieldset", {}, h("legend", {}, "Permissions"), adminRow, managerRow), value: () => ({ ...admin(), ...datasetManager() }) };
}

export async function teamsAndPermissionsDialog(viewer, users, done) {
  const teams = await assignableTeams(viewer);
  const roles = teamChangeFields(teams, teamStates(users, teams));
  const rights = selectionPermissions(viewer, users);
  const whom = users.length === 1 ? fullName(users[0]) : plural(users.length, "user");
  dialog(
    "Edit Teams & Permissions",
    [h("p", {}, `For ${whom}: what you change is set for ${users.length === 1 ? "them" : "all of them"}${viewer.isAdmin ? "" : " in the teams you manage"}; what you leave as it is stays as it is.`), roles, rights.element],
    "Set Teams & Permissions",
    async (message) => {
      const change = { ...roles.value(), ...rights.value() };
      if (!Object.keys(change).length) return message.show("Nothing was changed."), false;
      const answer = await api("PATCH", "/users/teamsAndPermissions", { userIds: users.map((u) => u.id), ...change });
      if (!answer.ok) return message.show(messageOf(answer)), false;
      done(`Teams and permissions set for ${whom}.${skippedNote(answer)}`);
      return true;
    },
  );
}

export async function activateDialog(viewer, user, done) {
  const teams = await assignableTeams(viewer);
  const roles = teamRoles(teams, new Map(user.teams.map((team) => [team.id, team.isTeamManager])));
  const rights = permissions(viewer, user);
  dialog(
    `Activate ${fullName(user)}`,
    [h("p", {}, "Choose their teams and permissions; without other teams they only see what the Default team may see."), roles, rights.element],
    "Activate user",
    async (message) => {
      const answer = await api("PATCH", `/users/${encodeURIComponent(user.id)}`, { isActive: true, teams: roles.value(), ...rights.value() });
      if (!answer.ok) return message.show(messageOf(answer)), false;
      done(`${fullName(user)} is active.${skippedNote(answer)}`);
      return true;
    },
  );
}

export async function experienceDialog(users, done) {
  const current = experienceValues(users);
  const now = current.size
    ? h("div", {}, h("p", {}, "They have now:"), h("ul", { class: "tags" }, [...current].map(([domain, values]) => h("li", {}, experienceText(domain, values, users.length)))))
    : h("p", {}, users.length === 1 ? "No experiences yet." : "None of them has an experience yet.");
  const domains = await api("GET", "/tasks/experienceDomains");
  const listId = `domains-${nextId()}`;
  const domain = field("Domain (pick one or type a new one)", { name: "domain", required: true, list: listId, autocomplete: "off" });
  const list = h("datalist", { id: listId }, (domains.ok ? domains.body : []).map((d) => h("option", { value: d })));
  const value = field("Value", { name: "value", type: "number", min: 0, step: 1, value: 1 });
  const [removeRow, remove] = checkbox("Remove this domain from them instead");
  remove.addEventListener("change", () => { value.querySelector("input").disabled = remove.checked; });
  // A domain all of them have at one value starts from that value.
  domain.querySelector("input").addEventListener("input", (event) => {
    const values = current.get(event.target.value.trim());
    if (values && values.length === users.length && new Set(values).size === 1) value.querySelector("input").value = String(values[0]);
  });
  const whom = users.length === 1 ? fullName(users[0]) : plural(users.length, "user");
  dialog("Change Experience", [h("p", {}, `For ${whom}; their other domains stay as they are.`), now, domain, list, value, removeRow], "Apply", async (message) => {
    const name = domain.querySelector("input").value.trim();
    const number = Number(value.querySelector("input").value);
    if (!name) return message.show("Enter a domain."), false;
    if (!remove.checked && (!Number.isInteger(number) || value.querySelector("input").value === "")) return message.show("The value must be a whole number."), false;
    const change = remove.checked ? { remove: [name] } : { set: { [name]: number } };
    const answer = await api("PATCH", "/users/experiences", { userIds: users.map((u) => u.id), ...change });
    if (!answer.ok) return message.show(messageOf(answer)), false;
    done(remove.checked ? `${name} removed from ${whom}.` : `${name} set to ${number} for ${whom}.`);
    return true;
  });
}

export function editUserDialog(viewer, user, done) {
  // Only one's own address can change (the API refuses another's), and only with one's current password.
  const own = viewer.id === user.id;
  const fields = [
    field("First name", { name: "firstName", required: true, value: user.firstName, autocomplete: "off" }),
    field("Last name", { name: "lastName", required: true, value: user.lastName, autocomplete: "off" }),
    own ? field("E-mail address", { name: "email", type: "email", required: true, value: user.email, autocomplete: "email" }) : null,
    own ? field("Current password (to change the address)", { name: "currentPassword", type: "password", autocomplete: "current-password" }) : null,
  ];
  // The owner grants an admin the right to delete the organization.
  const [deletionRow, deletion] = checkbox("May delete the organization", { checked: Boolean(user.mayDeleteOrganization) });
  const grantsDeletion = viewer.isOrganizationOwner && !own && user.isAdmin;
  if (grantsDeletion) fields.push(deletionRow);
  dialog(`Edit ${fullName(user)}`, fields, "Save", async (message, element) => {
    const patch = Object.fromEntries(new FormData(element.querySelector("form")).entries());
    if (own && String(patch.email).trim() === user.email) delete patch.email;
    if (!patch.currentPassword) delete patch.currentPassword;
    if (own && patch.email && !patch.currentPassword) return message.show("Enter your current password to change your e-mail address."), false;
    if (grantsDeletion && deletion.checked !== Boolean(user.mayDeleteOrganization)) patch.mayDeleteOrganization = deletion.checked;
    const answer = await api("PATCH", `/users/${encodeURIComponent(user.id)}`, patch);
    if (!answer.ok) return message.show(messageOf(answer)), false;
    done(`${fullName(answer.body)} saved.${skippedNote(answer)}`);
    return true;
  });
}

export const RECIPIENT_STATUS = {
  invited: "Invitation sent",
  notMailed: "Saved, but the mail could not be sent: resend it from Invites",
  notStored: "Not sent: please try again",
  invalid: "Not a valid e-mail address",
  duplicate: "Listed twice",
  alreadyMember: "Already a member",
  alreadyInvited: "Already invited",
};

export async function inviteDialog(viewer, done) {
  const teams = await assignableTeams(viewer);
  const addressesId = `field-${nextId()}`;
  const addresses = h("textarea", { id: addressesId, name: "recipients", rows: 5, required: true, autocomplete: "off" });
  // Everyone joins the Default team; the other teams are up to the sender.
  const roles = teamRoles(teams, new Map(teams.filter((team) => team.isOrganizationTeam).map((team) => [team.id, false])));
  const rights = permissions(viewer);
  const [autoRow, autoActivate] = checkbox("Activate them when they accept", { checked: true });
  const results = h("div", { class: "results", "aria-live": "polite" });
  dialog(
    "Invite Users",
    [
      results,
      h("div", { class: "field" }, h("label", { for: addressesId }, "E-mail addresses (one per line, or separated by commas)"), addresses),
      roles, rights.element, autoRow,
    ],
    "Send invites",
    async (message) => {
      const recipients = addresses.value.split(/[\s,;]+/).map((a) => a.trim()).filter(Boolean);
      if (!recipients.length) return message.show("Enter at least one e-mail address."), false;
      const answer = await api("POST", "/auth/sendInvites", {
        recipients, autoActivate: autoActivate.checked, teamMemberships: roles.value(), ...rights.value(),
      });
      if (!answer.ok) return message.show(messageOf(answer)), false;
      const answered = answer.body.recipients;
      results.replaceChildren(
        h("h3", {}, "Result"),
        h("ul", { class: "recipients" }, answered.map((r) =>
          h("li", { class: r.status === "invited" ? "sent" : "not-sent" }, h("strong", {}, r.email), ": ", RECIPIENT_STATUS[r.status] || r.status, r.error && r.status !== "invited" ? ` (${r.error})` : ""))),
      );
      const sent = answered.filter((r) => r.status === "invited").length;
      message.show(`${plural(sent, "invitation")} sent.`, sent === answered.length ? "success" : "warning");
      addresses.value = answered.filter((r) => r.status === "notStored").map((r) => r.email).join("\n");
      done();
      return false;
    },
  );
}

export async function usersPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  /** The list's filters, its pages, and the selection.
   * @type {{ status: string, verified: string, search: string, pages: import("./rules.js").Pages, selected: Map<string, any> }} */
  const state = { status: "true", verified: "", search: "", pages: firstPage(), selected: new Map() };
  const statusId = `field-${nextId()}`;
  const verifiedId = `field-${nextId()}`;
  const searchId = `field-${nextId()}`;
  const status = h("select", { id: statusId },
    h("option", { value: "true" }, "Active"), h("option", { value: "false" }, "Deactivated"), h("option", { value: "" }, "All"));
  const verified = h("select", { id: verifiedId },
    h("option", { value: "" }, "All"), h("option", { value: "true" }, "Verified"), h("option", { value: "false" }, "Not verified"));
  // For admins: the plan's state, and the people who signed up and wait for activation (never active).
  const banners = h("div", {});
  if (viewer.isAdmin) {
    const [pricing, inactive] = await Promise.all([api("GET", "/pricing/status"), api("GET", "/users?isActive=false&limit=1000")]);
    if (pricing.ok && (pricing.body.isExceeded || pricing.body.isAlmostExceeded)) {
      banners.append(h("p", { class: "notice warning", role: "status" },
        pricing.body.isExceeded ? "Your organization has exceeded its plan (users or paid period): activating users is refused until it is extended. " : "Your organization is close to its plan's limits (users or paid period). ",
        link("/organization", "See the plan")));
    }
    const waiting = inactive.ok ? waitingForActivation(inactive.body) : [];
    if (waiting.length) {
      const showThem = h("button", { type: "button", class: "secondary" }, "Show them");
      showThem.addEventListener("click", () => { status.value = state.status = "false"; restart(); });
      banners.append(h("p", { class: "notice", role: "status" }, `${plural(waiting.length, "person", "people")} who signed up ${waiting.length === 1 ? "waits" : "wait"} for activation. `, showThem));
    }
  }
  const search = h("input", { id: searchId, type: "search", autocomplete: "off" });
  const selection = h("span", { class: "selection", "aria-live": "polite" });
  const editTeams = h("button", { type: "button", disabled: true }, "Edit Teams & Permissions");
  const changeExperience = h("button", { type: "button", disabled: true }, "Change Experience");
  const list = h("div", { class: "list" });
  const previous = h("button", { type: "button", class: "secondary" }, "Previous page");
  const next = h("button", { type: "button", class: "secondary" }, "Next page");
  const position = h("span", { class: "position" });

  const done = (text) => {
    state.selected.clear();
    if (text) message.show(text, "success");
    load();
  };
  const selectedUsers = () => [...state.selected.values()];
  const updateSelection = () => {
    const count = state.selected.size;
    selection.textContent = count ? `${plural(count, "user")} selected` : "";
    editTeams.disabled = changeExperience.disabled = count === 0;
  };
  editTeams.addEventListener("click", () => teamsAndPermissionsDialog(viewer, selectedUsers(), done));
  changeExperience.addEventListener("click", () => experienceDialog(selectedUsers(), done));

  const setActive = async (user, active) => {
    const answer = await api("PATCH", `/users/${encodeURIComponent(user.id)}`, { isActive: active });
    if (!answer.ok) return message.show(messageOf(answer));
    done(`${fullName(user)} is ${active ? "active" : "deactivated"}.`);
  };

  const row = (user) => {
    const box = h("input", { type: "checkbox", "aria-label": `Select ${fullName(user)}`, checked: state.selected.has(user.id), disabled: !user.isEditable });
    box.addEventListener("change", () => {
      if (box.checked) state.selected.set(user.id, user);
      else state.selected.delete(user.id);
      updateSelection();
    });
    const marks = [user.isOrganizationOwner && "Owner", user.isAdmin && "Admin", user.isDatasetManager && "Dataset manager", !user.isActive && "Deactivated"].filter(Boolean);
    const actions = [];
    if (user.isEditable && !user.isActive) actions.push(h("button", { type: "button", onclick: () => activateDialog(viewer, user, done) }, "Activate"));
    if (viewer.isAdmin && user.isActive && user.id !== viewer.id && !user.isOrganizationOwner) {
      actions.push(h("button", { type: "button", class: "secondary", onclick: () => setActive(user, false) }, "Deactivate"));
    }
    if (viewer.isAdmin || user.id === viewer.id) actions.push(h("button", { type: "button", class: "secondary", onclick: () => editUserDialog(viewer, user, done) }, "Edit"));
    return h("tr", { "data-user": user.id },
      h("td", {}, box),
      h("td", {}, `${user.lastName}, ${user.firstName}`),
      h("td", {}, user.email),
      h("td", {}, h("ul", { class: "tags" }, user.teams.map((team) => h("li", {}, team.name, team.isTeamManager ? " (Team Manager)" : "")))),
      h("td", {}, h("ul", { class: "tags" }, Object.entries(user.experiences).map(([domain, value]) => h("li", {}, `${domain}: ${value}`)))),
      h("td", {}, date(user.lastActivity)),
      h("td", {}, marks.join(", ")),
      h("td", {}, h("div", { class: "row-actions" }, actions)));
  };

  let loading = 0;
  async function load() {
    const ticket = ++loading;
    const query = pageQuery(state.pages, { isActive: state.status, isEmailVerified: state.verified, search: state.search }, PAGE_SIZE);
    list.setAttribute("aria-busy", "true");
    const answer = await api("GET", `/users?${query}`);
    if (ticket !== loading) return; // A newer search or page replaced this one.
    list.removeAttribute("aria-busy");
    if (!answer.ok) return message.show(messageOf(answer));
    const shown = pageAnswered(state.pages, answer.next);
    state.pages = shown.pages;
    previous.disabled = !shown.hasPrevious;
    next.disabled = !shown.hasNext;
    position.textContent = shown.label;
    updateSelection();
    list.replaceChildren(answer.body.length
      ? table("Users", ["Select", "Name", "E-mail", "Teams", "Experiences", "Last activity", "Access", "Actions"], answer.body.map(row))
      : h("p", { class: "empty" }, "No users match."));
  }
  const restart = () => {
    state.pages = firstPage();
    load();
  };
  status.addEventListener("change", () => { state.status = status.value; restart(); });
  verified.addEventListener("change", () => { state.verified = verified.value; restart(); });
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.search = search.value.trim(); restart(); }, 250);
  });
  previous.addEventListener("click", () => { state.pages = turnPage(state.pages, -1); load(); });
  next.addEventListener("click", () => { state.pages = turnPage(state.pages, 1); load(); });

  adminFrame(viewer, "Users", viewer.isAdmin || isTeamManager(viewer),
    message,
    banners,
    h("div", { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: statusId }, "Status"), status),
      h("div", { class: "field" }, h("label", { for: verifiedId }, "E-mail address"), verified),
      h("div", { class: "field grow" }, h("label", { for: searchId }, "Search by name or e-mail"), search)),
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: () => inviteDialog(viewer, () => {}) }, "Invite Users"),
      editTeams, changeExperience, selection),
    list,
    h("div", { class: "actions pager" }, previous, position, next));
  if (viewer.isAdmin || isTeamManager(viewer)) await load();
}
