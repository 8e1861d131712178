// @ts-check
// The Teams page: teams, their members, adding and removing members.

import { adminFrame, api, dialog, field, form, fullName, h, isTeamManager, messageOf, nextId, notice } from "./dom.js";
import { signedIn } from "./auth.js";

export async function teamsPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  const list = h("ul", { class: "team-list" });

  const members = async (team, container, button, after) => {
    const query = new URLSearchParams({ limit: "100" });
    if (after) query.set("cursor", after);
    const answer = await api("GET", `/teams/${encodeURIComponent(team.id)}/users?${query}`);
    if (!answer.ok) return message.show(messageOf(answer));
    const items = answer.body.map((member) => h("li", {}, `${member.lastName}, ${member.firstName}`, " · ", member.email,
      member.isTeamManager ? " · Team Manager" : " · Member", member.isActive ? "" : " · deactivated",
      team.isOrganizationTeam ? null : h("button", { type: "button", class: "secondary", onclick: () => leave(team, member, container, button) }, `Remove ${member.firstName} ${member.lastName}`)));
    if (!after) container.replaceChildren(h("ul", { class: "members", "aria-label": `Members of ${team.name}` }, items.length ? items : h("li", {}, "No members.")));
    else container.querySelector("ul").append(...items);
    container.querySelector("button.more")?.remove();
    if (answer.next) container.append(h("button", { type: "button", class: "secondary more", onclick: () => members(team, container, button, answer.next) }, "More members"));
    button.setAttribute("aria-expanded", "true");
  };
  // Members join and leave a team through the bulk route's setTeams and removeTeams: their other teams stay.
  const leave = async (team, member, container, button) => {
    const answer = await api("PATCH", "/users/teamsAndPermissions", { userIds: [member.id], removeTeams: [team.id] });
    if (!answer.ok) return message.show(messageOf(answer));
    message.show(`${member.firstName} ${member.lastName} left ${team.name}.`, "success");
    members(team, container, button);
  };
  const add = (team, container, button) => {
    const results = h("ul", { class: "members", "aria-label": "Found users" });
    const search = field("Name or e-mail address", { type: "search", autocomplete: "off" });
    const input = search.querySelector("input");
    const find = async () => {
      const query = input.value.trim();
      if (!query) return results.replaceChildren();
      const answer = await api("GET", `/users?${new URLSearchParams({ search: query, isActive: "true", limit: "10" })}`);
      if (!answer.ok) return results.replaceChildren(h("li", {}, messageOf(answer)));
      const outside = answer.body.filter((user) => !user.teams.some((t) => t.id === team.id));
      results.replaceChildren(...(outside.length ? outside.map((user) => {
        const id = `field-${nextId()}`;
        const role = h("select", { id }, h("option", { value: "member" }, "Member"), h("option", { value: "manager" }, "Team Manager"));
        const addButton = h("button", { type: "button", class: "secondary" }, `Add ${fullName(user)}`);
        addButton.addEventListener("click", async () => {
          const answer = await api("PATCH", "/users/teamsAndPermissions", { userIds: [user.id], setTeams: [{ id: team.id, isTeamManager: role.value === "manager" }] });
          if (!answer.ok) return message.show(messageOf(answer));
          addButton.replaceWith(h("span", { class: "muted" }, "Added"));
          members(team, container, button);
        });
        return h("li", { class: "found" }, `${user.lastName}, ${user.firstName} · ${user.email}`, h("label", { for: id, class: "visually-hidden" }, `Role of ${fullName(user)}`), role, addButton);
      }) : [h("li", {}, "Nobody outside the team matches.")]));
    };
    let timer;
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(find, 250); });
    dialog(`Add members to ${team.name}`, [search, results], "Search", async () => (await find(), false));
  };
  const remove = (team) => dialog(`Delete the team ${team.name}?`, [h("p", {}, "Its members leave it; the users themselves stay.")], "Delete team", async (dialogMessage) => {
    const answer = await api("DELETE", `/teams/${encodeURIComponent(team.id)}`);
    if (!answer.ok) return dialogMessage.show(messageOf(answer)), false;
    message.show(`The team ${team.name} is deleted.`, "success");
    load();
    return true;
  });
  const item = (team) => {
    const container = h("div", { class: "member-box" });
    const toggle = h("button", { type: "button", class: "secondary", "aria-expanded": "false" }, "Members");
    toggle.addEventListener("click", () => {
      if (toggle.getAttribute("aria-expanded") === "true") {
        container.replaceChildren();
        toggle.setAttribute("aria-expanded", "false");
      } else {
        members(team, container, toggle);
      }
    });
    const deletable = viewer.isAdmin && !team.isOrganizationTeam;
    return h("li", { "data-team": team.id },
      h("div", { class: "team-row" },
        h("span", { class: "team-name" }, team.name, team.isOrganizationTeam ? h("span", { class: "muted" }, " (everyone)") : ""),
        h("div", { class: "row-actions" }, toggle,
          team.isOrganizationTeam ? null : h("button", { type: "button", class: "secondary", onclick: () => add(team, container, toggle) }, "Add members"),
          deletable ? h("button", { type: "button", class: "secondary", onclick: () => remove(team) }, "Delete") : null)),
      container);
  };
  async function load() {
    const answer = await api("GET", viewer.isAdmin ? "/teams" : "/teams?isEditable=true");
    if (!answer.ok) return message.show(messageOf(answer));
    list.replaceChildren(...answer.body.map(item));
  }
  const create = viewer.isAdmin
    ? form("Create a team", [field("Team name", { name: "name", required: true, autocomplete: "off" })], "Create team", async (values, formMessage) => {
      const answer = await api("POST", "/teams", { name: values.name });
      if (!answer.ok) return formMessage.show(messageOf(answer));
      create.reset();
      message.show(`The team ${answer.body.name} is created.`, "success");
      load();
    })
    : null;
  create?.querySelector("h1").replaceWith(h("h2", {}, "Create a team"));
  adminFrame(viewer, "Teams", viewer.isAdmin || isTeamManager(viewer), message,
    h("p", {}, viewer.isAdmin ? "Every team of the organization." : "The teams you manage."), list, create);
  if (viewer.isAdmin || isTeamManager(viewer)) await load();
}
