// @ts-check
// The Invites page: invitations with their state and delivery; Resend, Revoke.

import { PAGE_SIZE, adminFrame, api, date, h, isTeamManager, messageOf, nextId, notice } from "./dom.js";
import { signedIn } from "./auth.js";
import { inviteDialog } from "./users.js";

export const INVITE_STATE = { pending: "Pending", accepted: "Accepted", revoked: "Revoked", expired: "Expired" };

export async function invitesPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  const stateId = `field-${nextId()}`;
  const filter = h("select", { id: stateId },
    h("option", { value: "" }, "All"), Object.entries(INVITE_STATE).map(([value, text]) => h("option", { value }, text)));
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  /** @type {string | null | undefined} */
  let cursor = null;

  const act = async (invite, method, path, text) => {
    const answer = await api(method, path);
    if (!answer.ok) return message.show(messageOf(answer));
    message.show(text, "success");
    reload();
  };
  const row = (invite) => {
    const actions = [];
    if (invite.state === "pending" || invite.state === "expired") {
      actions.push(h("button", { type: "button", class: "secondary", onclick: () => act(invite, "POST", `/invites/${encodeURIComponent(invite.id)}/resend`, `The invitation to ${invite.email} was sent again.`) }, "Resend"));
    }
    if (invite.state === "pending") {
      actions.push(h("button", { type: "button", class: "secondary", onclick: () => act(invite, "DELETE", `/invites/${encodeURIComponent(invite.id)}`, `The invitation to ${invite.email} is revoked.`) }, "Revoke"));
    }
    const delivery =
      invite.delivery === "failed" ? `Mail failed${invite.deliveryError ? `: ${invite.deliveryError}` : ""}`
      : invite.delivery === "undeliverable" ? `Undeliverable${invite.deliveryError ? `: ${invite.deliveryError}` : ""}`
      : invite.delivery;
    return h("tr", { "data-invite": invite.id },
      h("td", {}, invite.email),
      h("td", {}, INVITE_STATE[invite.state] || invite.state, invite.acceptedByEmail ? ` by ${invite.acceptedByEmail}` : ""),
      h("td", {}, invite.sentByName),
      h("td", {}, date(invite.created)),
      h("td", {}, date(invite.validUntil)),
      h("td", {}, delivery),
      h("td", {}, h("div", { class: "row-actions" }, actions)));
  };
  async function load(append) {
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (filter.value) query.set("state", filter.value);
    if (append && cursor) query.set("cursor", cursor);
    const answer = await api("GET", `/invites?${query}`);
    if (!answer.ok) return message.show(messageOf(answer));
    cursor = answer.next;
    more.hidden = !cursor;
    const rows = answer.body.map(row);
    if (append) body.append(...rows);
    else body.replaceChildren(...rows);
    if (!body.children.length) body.append(h("tr", {}, h("td", { colspan: 7 }, "No invitations.")));
  }
  const reload = () => load(false);
  filter.addEventListener("change", reload);
  more.addEventListener("click", () => load(true));
  const allowed = viewer.isAdmin || isTeamManager(viewer);
  adminFrame(viewer, "Invites", allowed,
    message,
    h("p", {}, viewer.isAdmin ? "Every invitation of the organization." : "The invitations you sent."),
    h("div", { class: "toolbar" },
      h("div", { class: "field" }, h("label", { for: stateId }, "State"), filter),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: () => inviteDialog(viewer, reload) }, "Invite Users"))),
    h("div", { class: "table", tabindex: 0, role: "region", "aria-label": "Invitations" },
      h("table", {}, h("caption", { class: "visually-hidden" }, "Invitations"),
        h("thead", {}, h("tr", {}, ["E-mail", "State", "Sent by", "Sent", "Valid until", "Delivery", "Actions"].map((t) => h("th", { scope: "col" }, t)))),
        body)),
    more);
  if (allowed) await reload();
}
