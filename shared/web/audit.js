// @ts-check
// The Audit log page: filters, paging, CSV download.

import { PAGE_SIZE, api, h, messageOf, nextId, notice, show } from "./dom.js";
import { signedIn } from "./auth.js";
import { changeText } from "./rules.js";

export const AUDIT_CATEGORIES = [["", "All actions"], ["auth.", "Logins and sessions"], ["token.", "API tokens"], ["invite.", "Invitations"], ["user.", "Users"], ["team.", "Teams"], ["organization.", "Organization"], ["account.", "Passwords and addresses"]];

/** What an entry changed, as one line of text: `field: old → new`, or the facts it records. */
/** The start (or, with `end`, the last millisecond) of a `YYYY-MM-DD` day in local time, as epoch ms. */
export function dayMillis(day, end) {
  const [year, month, date] = day.split("-").map(Number);
  const start = new Date(year, month - 1, date).getTime();
  return end ? start + 86_399_999 : start;
}

export async function auditPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const allowed = viewer.isAdmin || viewer.isOrganizationOwner;
  if (!allowed) {
    return show(h("section", {}, h("h1", {}, "Audit log"), h("p", { class: "notice error", role: "status" }, "The audit log is for the organization's admins and owner.")));
  }
  const message = notice();
  // Team ids in the entries are shown by the teams' names.
  const teams = await api("GET", "/teams");
  const teamNames = new Map((teams.ok ? teams.body : []).map((team) => [team.id, team.name]));
  const ids = { action: `field-${nextId()}`, from: `field-${nextId()}`, to: `field-${nextId()}` };
  const action = h("select", { id: ids.action }, AUDIT_CATEGORIES.map(([value, text]) => h("option", { value }, text)));
  const from = h("input", { id: ids.from, type: "date" });
  const to = h("input", { id: ids.to, type: "date" });
  // Clicking a person or subject in the log narrows it to them; the chip says so and undoes it.
  /** @type {Record<"actor" | "target", { id: string, label: string } | null>} */
  const narrowed = { actor: null, target: null };
  const chips = h("div", { class: "chips" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  const download = h("a", { class: "button secondary", download: "audit-log.csv" }, "Download CSV");
  /** @type {string | null | undefined} */
  let cursor = null;

  const query = () => {
    const parameters = new URLSearchParams();
    if (action.value) parameters.set("action", action.value);
    if (narrowed.actor) parameters.set("actor", narrowed.actor.id);
    if (narrowed.target) parameters.set("target", narrowed.target.id);
    if (from.value) parameters.set("from", String(dayMillis(from.value, false)));
    if (to.value) parameters.set("to", String(dayMillis(to.value, true)));
    return parameters;
  };
  const narrow = (kind, value) => {
    narrowed[kind] = value;
    chips.replaceChildren(...Object.entries(narrowed).filter(([, v]) => v).map(([k, v]) =>
      h("button", { type: "button", class: "chip", title: "Show all entries again", onclick: () => narrow(k, null) },
        `${k === "actor" ? "By" : "About"} ${v?.label} ×`)));
    reload();
  };
  const row = (entry) => {
    const actor = entry.actor || {};
    const actorLabel = actor.type === "system" ? `System (${actor.name || "job"})` : actor.type === "anonymous" ? "Anonymous" : `${actor.name || actor.email || actor.id}${actor.type === "operator" ? " (operator)" : ""}`;
    const subject = entry.targets?.[0];
    const subjectLabel = subject ? `${subject.name || subject.id}` : "—";
    return h("tr", { "data-entry": entry.id },
      h("td", {}, new Date(entry.occurredAt).toLocaleString()),
      h("td", {}, h("code", {}, entry.action)),
      h("td", {}, actor.id
        ? h("button", { type: "button", class: "link", title: "Show only what they did", onclick: () => narrow("actor", { id: actor.id, label: actorLabel }) }, actorLabel)
        : actorLabel),
      h("td", {}, subject
        ? h("button", { type: "button", class: "link", title: "Show only entries about this", onclick: () => narrow("target", { id: subject.id, label: subjectLabel }) }, `${subject.type}: ${subjectLabel}`)
        : "—"),
      h("td", { class: "change" }, changeText(entry.change, teamNames)),
      h("td", {}, entry.context?.sourceIp || ""));
  };
  async function load(append) {
    const parameters = query();
    download.href = `/api/auditLog?${new URLSearchParams({ ...Object.fromEntries(parameters), format: "csv" })}`;
    parameters.set("limit", String(PAGE_SIZE));
    if (append && cursor) parameters.set("cursor", cursor);
    const answer = await api("GET", `/auditLog?${parameters}`);
    if (!answer.ok) return message.show(messageOf(answer));
    message.hidden = true;
    cursor = answer.next;
    more.hidden = !cursor;
    const rows = answer.body.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 6 }, "No entries.")));
  }
  const reload = () => load(false);
  for (const control of [action, from, to]) control.addEventListener("change", reload);
  more.addEventListener("click", () => load(true));
  show(h("section", { class: "wide" }, h("h1", {}, "Audit log"),
    message,
    h("p", {}, "Every change in the organization: who made it, when and from where. Select a person or a subject to see only their entries."),
    h("div", { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: ids.action }, "Action"), action),
      h("div", { class: "field" }, h("label", { for: ids.from }, "From"), from),
      h("div", { class: "field" }, h("label", { for: ids.to }, "To"), to),
      h("div", { class: "actions" }, download)),
    chips,
    h("div", { class: "table", tabindex: 0, role: "region", "aria-label": "Audit log" },
      h("table", {}, h("caption", { class: "visually-hidden" }, "Audit log"),
        h("thead", {}, h("tr", {}, ["When", "Action", "By", "Subject", "Change", "From"].map((t) => h("th", { scope: "col" }, t)))),
        body)),
    more));
  await reload();
}
