// @ts-check
// The signed-in home page: organizations (switch, leave), the API token, passkeys, linked sign-ins, password.

import { api, date, dialog, field, go, h, messageOf, navigation, notice, show } from "./dom.js";
import { addPasskey, passkeysSupported, signInButton, signedOut, singleSignOn } from "./auth.js";

export async function homePage(note) {
  const me = await api("GET", "/user");
  if (me.status === 401) return go("/auth/login");
  if (!me.ok) return show(h("section", {}, h("h1", {}, "Your account"), h("p", { class: "notice error", role: "status" }, messageOf(me))));
  const user = me.body;
  navigation(user);
  const message = notice();
  if (note) message.show(note, "success");
  const organizations = await api("GET", "/organizations?compact=true");
  const current = user.organization;
  // Leaving deactivates this account there (an admin can activate it again); leaving the organization of
  // this session ends the session. The owner hands the organization over first (Organization page).
  const leaveDialog = (organization) => dialog(`Leave ${organization.name}?`,
    h("p", {}, "Your account there is deactivated and its sessions and API token end. Your records stay; an admin can activate you again. Its admins are told."),
    "Leave organization",
    async (dialogMessage) => {
      const left = await api("POST", `/organizations/${encodeURIComponent(organization.id)}/leave`);
      if (!left.ok) {
        dialogMessage.show(messageOf(left));
        return false;
      }
      if (!left.body.sessionEnded) homePage(messageOf(left));
      else {
        const others = (organizations.ok ? organizations.body : []).filter((o) => o.id !== organization.id);
        const next = others.length ? ` Log in again to continue in ${others.map((o) => o.name).join(" or ")}.` : "";
        signedOut(`${messageOf(left)}; this session ended with it.${next}`);
      }
      return true;
    });
  const switcher = h(
    "ul",
    { class: "organizations", "aria-label": "Your organizations" },
    (organizations.ok ? organizations.body : []).map((organization) =>
      h(
        "li",
        {},
        h("span", {}, organization.name, organization.id === current ? h("span", { class: "current" }, " (current)") : null),
        h("div", { class: "row-actions" },
          organization.id === current
            ? null
            : h("button", {
              type: "button",
              onclick: async () => {
                const switched = await api("POST", `/auth/switchOrganization/${encodeURIComponent(organization.id)}`);
                if (switched.ok) homePage();
                else message.show(messageOf(switched));
              },
            }, `Switch to ${organization.name}`),
          organization.id === current && user.isOrganizationOwner
            ? null
            : h("button", { type: "button", class: "secondary", onclick: () => leaveDialog(organization) }, `Leave ${organization.name}`)),
      ),
    ),
  );
  const tokenOutput = h("output", { class: "token", "aria-label": "Personal API token" });
  const tokenSection = h(
    "section",
    { "aria-labelledby": "token-heading" },
    h("h2", { id: "token-heading" }, "Personal API token"),
    h("p", {}, "For scripts and the webknossos Python package (WK_TOKEN). Keep it secret."),
    tokenOutput,
    h("div", { class: "actions" },
      h("button", { type: "button", onclick: async () => {
        const answer = await api("GET", "/auth/token");
        if (answer.ok) tokenOutput.textContent = answer.body.token;
        else message.show(messageOf(answer));
      } }, "Show token"),
      h("button", { type: "button", onclick: async () => {
        if (!tokenOutput.textContent) return message.show("Show the token first.");
        try {
          await navigator.clipboard.writeText(tokenOutput.textContent);
          message.show("Copied to the clipboard.", "success");
        } catch {
          message.show("Copying is not allowed here; select the token and copy it.");
        }
      } }, "Copy"),
      h("button", { type: "button", onclick: async () => {
        const answer = await api("DELETE", "/auth/token");
        tokenOutput.textContent = "";
        message.show(messageOf(answer), answer.ok ? "success" : "error");
      } }, "Revoke"),
    ),
  );
  // Links to identity providers: the institution's (the instance's connection) or the organization's own
  // (found by this address's domain), and those made so far, each removable.
  const links = h("ul", { class: "history", "aria-label": "Linked sign-ins" });
  const showLinks = async () => {
    const answer = await api("GET", "/auth/oidc/links");
    if (!answer.ok) return links.replaceChildren(h("li", {}, messageOf(answer)));
    links.replaceChildren(...(answer.body.length ? answer.body.map((linked) => h("li", {},
      h("span", {}, `${linked.issuer} (as ${linked.email}, since ${date(linked.created)})`),
      h("button", { type: "button", class: "secondary", onclick: async () => {
        const removed = await api("DELETE", `/auth/oidc/links/${encodeURIComponent(linked.id)}`);
        message.show(messageOf(removed), removed.ok ? "success" : "error");
        showLinks();
      } }, "Unlink"))) : [h("li", {}, "None yet.")]));
  };
  showLinks();
  const linkButton = (label, query) => signInButton(label, { ...query, link: "true" }, message);
  const institutionSection = h(
    "section",
    { "aria-labelledby": "institution-heading" },
    h("h2", { id: "institution-heading" }, "Your institution's sign-in"),
    h("p", {}, "Link your account to your institution's sign-in once; then signing in there opens this account."),
    links,
    h("div", { class: "actions" },
      singleSignOn ? linkButton("Link your institution", {}) : null,
      linkButton("Link your organization's sign-in", { email: user.email })),
  );
  const passkeySection = passkeysSection();
  const logout = (path) => async () => {
    await api("POST", path);
    go("/auth/login");
  };
  const passkeyRequired = user.passkeyRequired
    ? h("p", { class: "notice warning", role: "status" }, "Your organization requires its admins to sign in with a passkey or single sign-on. Add a passkey below, then log out and sign in with it: until then this session can do nothing else.")
    : null;
  const verification = user.isEmailVerified
    ? null
    : h("p", { class: "notice warning" }, "Your e-mail address is not verified yet. ",
        h("button", { type: "button", onclick: async () => {
          const answer = await api("POST", "/verifyEmail");
          message.show(messageOf(answer), answer.ok ? "success" : "error");
        } }, "Send me a verification link"));
  show(
    h(
      "section",
      {},
      h("h1", {}, `${user.firstName} ${user.lastName}`),
      h("p", { class: "who" }, user.email),
      message,
      passkeyRequired,
      verification,
      h("h2", {}, "Organizations"),
      switcher,
      tokenSection,
      passkeySection,
      institutionSection,
      passwordSection(),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: logout("/auth/logout") }, "Log out"),
        h("button", { type: "button", class: "secondary", onclick: logout("/auth/logoutEverywhere") }, "Log out everywhere")),
    ),
  );
}

/** The home page's password change: the current password, and the new one twice. The answer's session
 * replaces this one (`POST /auth/changePassword`); the form empties and says so. */
export function passwordSection() {
  const message = notice();
  const button = h("button", { type: "submit" }, "Change password");
  const element = h("form", { "aria-labelledby": "password-heading" },
    h("h2", { id: "password-heading" }, "Password"),
    message,
    field("Current password", { name: "oldPassword", type: "password", required: true, autocomplete: "current-password" }),
    field("New password", { name: "password1", type: "password", required: true, autocomplete: "new-password" }),
    field("New password again", { name: "password2", type: "password", required: true, autocomplete: "new-password" }),
    button);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.clear();
    button.disabled = true;
    const { oldPassword, password1, password2 } = Object.fromEntries(new FormData(element).entries());
    try {
      const answer = await api("POST", "/auth/changePassword", { oldPassword, password: { password1, password2 } });
      if (!answer.ok) return message.show(messageOf(answer));
      element.reset();
      message.show("Your password is changed.", "success");
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

/** The home page's passkeys: each with when it was added and last used, renamed in place or removed; a
 * named new one added with this device's authenticator. Its own notice says what happened, next to it. */
export function passkeysSection() {
  const message = notice();
  const list = h("ul", { class: "history", "aria-label": "Your passkeys" });
  const after = (answer, done) => {
    message.show(answer.ok ? done : messageOf(answer), answer.ok ? "success" : "error");
    showPasskeys();
  };
  const renameForm = (passkey, item) => {
    const input = field(`New name for ${passkey.name}`, { name: "name", required: true, maxlength: 64, value: passkey.name });
    const renaming = h("form", { class: "inline" }, input,
      h("button", { type: "submit" }, "Save"),
      h("button", { type: "button", class: "secondary", onclick: showPasskeys }, "Cancel"));
    renaming.addEventListener("submit", async (event) => {
      event.preventDefault();
      const name = new FormData(renaming).get("name");
      const answer = await api("PATCH", `/auth/webauthn/keys/${encodeURIComponent(passkey.id)}`, { name });
      after(answer, `The passkey is now called ${answer.body?.name}.`);
    });
    item.replaceChildren(renaming);
    input.querySelector("input").focus();
  };
  const entry = (passkey) => {
    const item = h("li", {});
    item.append(
      h("span", {}, `${passkey.name} (added ${date(passkey.created)}, last used ${passkey.lastUsed ? date(passkey.lastUsed) : "never"})`),
      h("button", { type: "button", class: "secondary", "aria-label": `Rename ${passkey.name}`, onclick: () => renameForm(passkey, item) }, "Rename"),
      h("button", { type: "button", class: "secondary", "aria-label": `Remove ${passkey.name}`, onclick: async () => {
        const answer = await api("DELETE", `/auth/webauthn/keys/${encodeURIComponent(passkey.id)}`);
        after(answer, `The passkey ${passkey.name} was removed; it no longer signs in.`);
      } }, "Remove"));
    return item;
  };
  async function showPasskeys() {
    const answer = await api("GET", "/auth/webauthn/keys");
    if (!answer.ok) return list.replaceChildren(h("li", {}, messageOf(answer)));
    list.replaceChildren(...(answer.body.length ? answer.body.map(entry) : [h("li", {}, "None yet.")]));
  }
  showPasskeys();
  const name = field("Name of the new passkey", { name: "name", required: true, maxlength: 64, placeholder: "e.g. Laptop" });
  const adding = h("form", { class: "inline" }, name, h("button", { type: "submit" }, "Add a passkey"));
  adding.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = adding.querySelector("button");
    button.disabled = true;
    const answer = await addPasskey(new FormData(adding).get("name"));
    button.disabled = false;
    if (answer.ok) adding.reset();
    after(answer, `The passkey ${answer.body?.name} was added; it signs you in without a password.`);
  });
  return h("section", { "aria-labelledby": "passkeys-heading" },
    h("h2", { id: "passkeys-heading" }, "Passkeys"),
    h("p", {}, "A passkey signs you in without a password, with this device's screen lock or a security key."),
    message,
    list,
    passkeysSupported ? adding : h("p", {}, "This browser cannot add passkeys."));
}
