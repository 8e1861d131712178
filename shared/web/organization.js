// @ts-check
// The Organization page (overview, plan, notifications, single sign-on, admin sign-in, ownership, deletion)
// and the page of the link that offers an organization's ownership.

import { api, bytes, checkbox, date, field, form, fullName, h, link, messageOf, navigation, nextId, notice, show, table, tabs } from "./dom.js";
import { signInButton, signedIn, signedOut } from "./auth.js";

/** One on/off setting of the organization with its own Save button and notice (not a form: the tabs'
 * forms keep their places). A refused change puts the box back and shows the API's message. */
/** @param {Record<string, any>} organization
 * @param {string} key the organization's boolean setting
 * @param {{ heading: string, explanation?: string, label: string, save: string, on: string, off: string }} texts */
export function settingSwitch(organization, key, { heading, explanation, label, save, on, off }) {
  const [row, input] = checkbox(label, { checked: Boolean(organization[key]) });
  const message = notice();
  const button = h("button", { type: "button" }, save);
  button.addEventListener("click", async () => {
    message.clear();
    button.disabled = true;
    const saved = await api("PATCH", `/organizations/${encodeURIComponent(organization.id)}`, { [key]: input.checked });
    button.disabled = false;
    if (!saved.ok) {
      input.checked = Boolean(organization[key]);
      return message.show(messageOf(saved));
    }
    organization[key] = saved.body[key];
    message.show(organization[key] ? on : off, "success");
  });
  return h("div", {}, h("h2", {}, heading), message, explanation ? h("p", {}, explanation) : null, row, h("div", { class: "actions" }, button));
}

export async function organizationPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  if (!viewer.isAdmin) {
    return show(h("section", {}, h("h1", {}, "Organization"), h("p", { class: "notice error", role: "status" }, "The organization's settings are for its admins.")));
  }
  const answer = await api("GET", `/organizations/${encodeURIComponent(viewer.organization)}`);
  if (!answer.ok) return show(h("section", {}, h("h1", {}, "Organization"), h("p", { class: "notice error", role: "status" }, messageOf(answer))));
  const organization = answer.body;
  const message = notice();
  const heading = h("p", { class: "who" }, organization.name);

  let renamed = () => {};
  const rename = form("Name", [field("Organization name", { name: "name", required: true, value: organization.name, autocomplete: "organization" })], "Save name", async (values, formMessage) => {
    const saved = await api("PATCH", `/organizations/${encodeURIComponent(organization.id)}`, { name: values.name });
    if (!saved.ok) return formMessage.show(messageOf(saved));
    organization.name = saved.body.name;
    heading.textContent = organization.name;
    renamed();
    formMessage.show("The name is saved.", "success");
  });
  rename.querySelector("h1").replaceWith(h("h2", {}, "Name"));
  const used = organization.usedStorageBytes;
  const included = organization.includedStorageBytes;
  const storage = included
    ? [h("progress", { max: included, value: Math.min(used, included), "aria-label": "Storage used" }), ` ${bytes(used)} of ${bytes(included)} used`]
    : [`${bytes(used)} used (no limit)`];
  const facts = [
    ["Owner", organization.ownerName || "—"],
    ["Plan", `${organization.pricingPlan}${organization.paidUntil ? `, paid until ${date(organization.paidUntil)}` : ""}`],
    ["Included users", organization.includedUsers ?? "unlimited"],
    ["Storage", storage],
    ["Members", `${organization.memberCount} (${organization.activeUserCount} active)`],
    ["WEBKNOSSOS credits", ((organization.milliCreditBalance ?? 0) / 1000).toLocaleString(undefined, { maximumFractionDigits: 3 })],
  ];
  // More than a password for admins: whoever turns it on must have signed in with a passkey or single
  // sign-on (the API refuses otherwise and says so).
  const adminsSignIn = settingSwitch(organization, "adminsMustUsePasskey", {
    heading: "Admin sign-in",
    explanation: "With this on, an admin who signs in with a password can only add a passkey until they sign in with it. Members are not affected.",
    label: "Admins must sign in with a passkey or single sign-on",
    save: "Save sign-in rule",
    on: "Admins now sign in with a passkey or single sign-on.",
    off: "Admins may sign in with their password again.",
  });
  // Whether people who sign up into this organization start active or wait for an admin.
  const joining = settingSwitch(organization, "enableAutoVerify", {
    heading: "New members",
    label: "People who sign up start active, without waiting for an admin",
    save: "Save joining rule",
    on: "People who sign up now start active.",
    off: "People who sign up now wait for an admin to activate them.",
  });
  const overview = [rename, h("dl", { class: "facts" }, facts.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)])), joining];

  const recipientsId = `field-${nextId()}`;
  const aiRecipients = h("select", { id: recipientsId, name: "aiJobNotifications" },
    h("option", { value: "jobOwner" }, "The person who started the job"),
    h("option", { value: "jobOwnerAndAdmins" }, "That person and the admins"),
    h("option", { value: "none" }, "Nobody"));
  aiRecipients.value = organization.aiJobNotifications;
  const notifications = form("Notifications", [
    field("WEBKNOSSOS Plan & Subscription (e-mail; empty: the owner)", { name: "planSubscriptionEmail", type: "email", value: organization.planSubscriptionEmail, autocomplete: "off" }),
    h("div", { class: "field" }, h("label", { for: recipientsId }, "AI Job Completion"), aiRecipients),
    field("New User Signup (e-mail addresses, separated by commas)", { name: "newUserMailingList", value: organization.newUserMailingList, autocomplete: "off" }),
  ], "Save notifications", async (values, formMessage) => {
    const saved = await api("PATCH", `/organizations/${encodeURIComponent(organization.id)}`, values);
    formMessage.show(saved.ok ? "The notification settings are saved." : messageOf(saved), saved.ok ? "success" : "error");
  });
  notifications.querySelector("h1").replaceWith(h("h2", {}, "Notifications"));

  // The plan: ask the operators for more, and what they changed so far.
  const asks = [["extension", "A longer plan"], ["upgrade", "Another plan"], ["users", "More users"], ["storage", "More storage"]];
  if (viewer.isOrganizationOwner) asks.push(["credits", "Credits"]);
  const askId = `field-${nextId()}`;
  const ask = h("select", { id: askId, name: "kind" }, asks.map(([value, text]) => h("option", { value }, text)));
  const planId = `field-${nextId()}`;
  const planChoice = h("div", { class: "field", hidden: true }, h("label", { for: planId }, "Plan"),
    h("select", { id: planId, name: "plan" }, ["Team", "Power", "Personal"].map((plan) => h("option", { value: plan }, plan))));
  const amount = field("How many users", { name: "amount", type: "number", min: 1, step: 1, inputmode: "numeric" });
  amount.hidden = true;
  const amountLabel = amount.querySelector("label");
  const amountInput = amount.querySelector("input");
  const labels = { users: "How many users", storage: "How much storage in total (GB)", credits: "How many credits" };
  ask.addEventListener("change", () => {
    planChoice.hidden = ask.value !== "upgrade";
    amount.hidden = !labels[ask.value];
    amountInput.required = !amount.hidden;
    amountLabel.textContent = labels[ask.value] || "";
  });
  const requestForm = form("Ask the operators", [h("div", { class: "field" }, h("label", { for: askId }, "What do you need?"), ask), planChoice, amount], "Send request", async (values, formMessage) => {
    const parameter = {
      extension: ["requestExtension", null, null],
      upgrade: ["requestUpgrade", "requestedPlan", values.plan],
      users: ["requestUsers", "requestedUsers", values.amount],
      storage: ["requestStorage", "requestedStorage", values.amount ? String(Math.round(Number(values.amount) * 1000)) : ""],
      credits: ["requestCredits", "requestedCredits", values.amount],
    }[values.kind];
    const [route, name, value] = parameter;
    const query = name ? `?${new URLSearchParams({ [name]: value ?? "" })}` : "";
    const sent = await api("POST", `/pricing/${route}${query}`);
    formMessage.show(sent.ok ? "Your request went to the instance's operators; you will get a confirmation by e-mail." : messageOf(sent), sent.ok ? "success" : "error");
  });
  requestForm.querySelector("h1").replaceWith(h("h2", {}, "Ask the operators"));
  const history = h("ul", { class: "history" }, h("li", {}, "Loading the plan's history…"));
  api("GET", "/pricing/planUpdates?limit=20").then((updates) => {
    if (!updates.ok) return history.replaceChildren(h("li", {}, messageOf(updates)));
    const items = updates.body.map((update) => h("li", {},
      `${date(update.created)}: ${update.pricingPlan}, ${update.includedUsers ?? "unlimited"} users, ${update.includedStorageBytes ? bytes(update.includedStorageBytes) : "unlimited storage"}${update.paidUntil ? `, paid until ${date(update.paidUntil)}` : ""} (by ${update.changedBy})`));
    history.replaceChildren(...(items.length ? items : [h("li", {}, "The operators have not changed the plan yet.")]));
  });
  const plan = [requestForm, h("h2", {}, "Plan history"), history];

  const entries = [["Overview", overview], ["Plan", plan], ["Notifications", notifications], ["Single sign-on", singleSignOnTab(organization)], ["Admin sign-in", adminsSignIn]];
  if (viewer.isOrganizationOwner) entries.push(["Ownership", ownershipTab(organization, viewer)]);
  if (viewer.mayDeleteOrganization) {
    const confirmId = `field-${nextId()}`;
    const confirmation = h("input", { id: confirmId, autocomplete: "off" });
    const confirmLabel = h("label", { for: confirmId });
    renamed = () => { confirmLabel.textContent = `Type the name of the organization (${organization.name}) to confirm`; };
    renamed();
    const remove = h("button", { type: "submit", class: "danger", disabled: true }, "Delete organization");
    confirmation.addEventListener("input", () => { remove.disabled = confirmation.value !== organization.name; });
    const deleteMessage = notice();
    const deletion = h("form", { class: "danger-zone" },
      h("h2", {}, "Delete this organization"),
      h("p", {}, "This removes the organization with all its users, teams, invitations and settings. It cannot be undone: export what you need first."),
      deleteMessage,
      h("div", { class: "field" }, confirmLabel, confirmation),
      remove);
    deletion.addEventListener("submit", async (event) => {
      event.preventDefault();
      remove.disabled = true;
      const memberships = await api("GET", "/organizations?compact=true");
      const others = memberships.ok ? memberships.body.filter((o) => o.id !== organization.id) : [];
      const deleted = await api("DELETE", `/organizations/${encodeURIComponent(organization.id)}`, { confirmation: confirmation.value });
      if (!deleted.ok) {
        remove.disabled = false;
        return deleteMessage.show(messageOf(deleted));
      }
      afterDeletion(organization.name, others);
    });
    entries.push(["Delete", deletion]);
  }
  show(h("section", { class: "wide" }, h("h1", {}, "Organization"), heading, message, ...tabs("Organization settings", entries)));
}

/** The Organization page's Ownership tab (the owner's): offer the organization to another active admin, who
 * accepts with the link mailed to them; until then nothing changes. */
export function ownershipTab(organization, viewer) {
  const heirId = `field-${nextId()}`;
  const heir = h("select", { id: heirId, name: "userId", required: true }, h("option", { value: "" }, "Loading the admins…"));
  const offer = form("Transfer ownership", [h("div", { class: "field" }, h("label", { for: heirId }, "New owner (an active admin)"), heir)], "Offer the ownership", async (values, formMessage) => {
    if (!values.userId) return formMessage.show("Choose the admin who is to become the owner.");
    const offered = await api("POST", `/organizations/${encodeURIComponent(organization.id)}/transferOwnership`, { userId: values.userId });
    formMessage.show(messageOf(offered), offered.ok ? "success" : "error");
  });
  offer.querySelector("h1").replaceWith(h("h2", {}, "Transfer ownership"));
  offer.querySelector(".field").before(h("p", {}, "The owner can delete the organization and is the contact for its plan. The admin you choose gets a mail with a link to accept, valid for a week. Until they accept you stay the owner; afterwards you stay an admin, and can leave the organization."));
  api("GET", "/users?isAdmin=true&isActive=true&limit=100").then((admins) => {
    const others = admins.ok ? admins.body.filter((admin) => admin.id !== viewer.id) : [];
    heir.replaceChildren(...(others.length
      ? [h("option", { value: "" }, "Choose an admin"), ...others.map((admin) => h("option", { value: admin.id }, `${fullName(admin)} <${admin.email}>`))]
      : [h("option", { value: "" }, admins.ok ? "No other active admin: make someone an admin first" : messageOf(admins))]));
  });
  return offer;
}

/** The page of the link that offers an organization's ownership: signed in as the admin it names, in that
 * organization (switched to if need be), one button accepts. */
export async function acceptOwnershipPage(organizationId, token) {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  if (viewer.organization !== organizationId) {
    const switched = await api("POST", `/auth/switchOrganization/${encodeURIComponent(organizationId)}`);
    if (!switched.ok) return show(h("section", {}, h("h1", {}, "Accept the ownership"), h("p", { class: "notice error", role: "status" }, messageOf(switched))));
    navigation(switched.body.user);
  }
  // The organization's name, which any member may read: so the person knows what they accept.
  const organization = await api("GET", `/organizations/${encodeURIComponent(organizationId)}`);
  const name = organization.ok ? organization.body.name : "this organization";
  const button = h("button", { type: "button", onclick: async () => {
    button.disabled = true;
    const accepted = await api("POST", `/organizations/${encodeURIComponent(organizationId)}/transferOwnership/${encodeURIComponent(token)}`);
    button.disabled = false;
    if (!accepted.ok) return message.show(messageOf(accepted));
    navigation(accepted.body.user);
    show(h("section", {}, h("h1", {}, "You are the owner"), h("p", { class: "notice success", role: "status" }, messageOf(accepted)), h("p", {}, link("/organization", "Open the organization's settings"))));
  } }, "Become the owner");
  show(h("section", {},
    h("h1", {}, "Accept the ownership"),
    h("p", { class: "who" }, name),
    h("p", {}, "The owner of this organization offers to make you its owner. The owner can delete the organization and is the contact for its plan; the present owner stays an admin."),
    message,
    button));
}

/** The Organization page's Single sign-on tab: the organization's own identity provider connection (its
 * client secret is write-only), a test that signs the admin in through it (and links them), and the
 * e-mail domains it proves by DNS, each of which may require single sign-on. */
export function singleSignOnTab(organization) {
  const base = `/organizations/${encodeURIComponent(organization.id)}`;
  const panel = h("div", {}, h("p", {}, "Loading…"));
  const load = async (note) => {
    const answer = await api("GET", `${base}/sso`);
    if (!answer.ok) return panel.replaceChildren(h("p", { class: "notice error", role: "status" }, messageOf(answer)));
    const { connection, domains, callbackUrl } = answer.body;
    const policyId = `field-${nextId()}`;
    const policy = h("select", { id: policyId, name: "joinPolicy" },
      h("option", { value: "closed" }, "Only people with an account (invited)"),
      h("option", { value: "pending" }, "New people of a verified domain join, waiting for an admin"),
      h("option", { value: "active" }, "New people of a verified domain join, active"));
    policy.value = connection?.joinPolicy ?? "closed";
    const [removeSecret] = checkbox("Remove the stored client secret", { name: "removeSecret" });
    removeSecret.hidden = !connection?.hasClientSecret;
    const saveForm = form("Identity provider", [
      h("p", {}, "Register this address with your provider as the redirect URI: ", h("code", {}, callbackUrl)),
      field("Issuer (https://…)", { name: "issuer", type: "url", required: true, value: connection?.issuer ?? "", autocomplete: "off" }),
      field("Client id", { name: "clientId", required: true, value: connection?.clientId ?? "", autocomplete: "off" }),
      field(connection?.hasClientSecret ? "Client secret (stored; type a new one to replace it)" : "Client secret (none for a public client)",
        { name: "clientSecret", type: "password", autocomplete: "new-password" }),
      removeSecret,
      h("div", { class: "field" }, h("label", { for: policyId }, "People without an account"), policy),
    ], "Save connection", async (values, formMessage) => {
      const body = { issuer: values.issuer, clientId: values.clientId, joinPolicy: values.joinPolicy };
      if (values.clientSecret) body.clientSecret = values.clientSecret;
      else if (values.removeSecret) body.clientSecret = null;
      const saved = await api("PUT", `${base}/sso`, body);
      if (!saved.ok) return formMessage.show(messageOf(saved));
      load("The connection is saved. Test it: sign in through it once.");
    });
    saveForm.querySelector("h1").replaceWith(h("h2", {}, "Identity provider"));
    const message = notice();
    if (note) message.show(note, "success");
    const actions = connection
      ? h("div", { class: "actions" },
          signInButton("Test: sign in with it", { organization: organization.id, link: "true" }, message),
          h("button", { type: "button", class: "secondary", onclick: async () => {
            const removed = await api("DELETE", `${base}/sso`);
            if (!removed.ok) return message.show(messageOf(removed));
            load("The connection is removed.");
          } }, "Remove connection"))
      : null;
    const domainRow = (domain) => {
      const require = h("input", { type: "checkbox", checked: domain.requireSso, disabled: !domain.verified,
        "aria-label": `Require single sign-on for ${domain.domain}` });
      require.addEventListener("change", async () => {
        const changed = await api("PATCH", `${base}/domains/${encodeURIComponent(domain.domain)}`, { requireSso: require.checked });
        if (!changed.ok) require.checked = !require.checked;
        message.show(changed.ok ? `${domain.domain}: saved.` : messageOf(changed), changed.ok ? "success" : "error");
      });
      const record = domain.verified ? "—" : h("span", {}, "TXT ", h("code", {}, domain.dnsRecord.name), " = ", h("code", {}, domain.dnsRecord.value));
      return h("tr", {},
        h("td", {}, domain.domain),
        h("td", {}, domain.verified ? `Verified ${date(domain.verifiedAt)}` : "Pending"),
        h("td", {}, record),
        h("td", {}, require),
        h("td", {}, h("div", { class: "row-actions" },
          domain.verified ? null : h("button", { type: "button", onclick: async () => {
            const verified = await api("POST", `${base}/domains/${encodeURIComponent(domain.domain)}/verify`);
            if (verified.ok) load(`${domain.domain} is verified.`);
            else message.show(messageOf(verified));
          } }, `Verify ${domain.domain}`),
          h("button", { type: "button", class: "secondary", onclick: async () => {
            const removed = await api("DELETE", `${base}/domains/${encodeURIComponent(domain.domain)}`);
            if (removed.ok) load(`${domain.domain} is removed.`);
            else message.show(messageOf(removed));
          } }, `Remove ${domain.domain}`))));
    };
    const domainTable = domains.length
      ? table("E-mail domains", ["Domain", "State", "DNS record to publish", "Require single sign-on", "Actions"], domains.map(domainRow))
      : h("p", {}, "No domains yet.");
    const claim = form("Add a domain", [field("Domain (like uni.example)", { name: "domain", required: true, autocomplete: "off" })], "Add domain", async (values, formMessage) => {
      const claimed = await api("POST", `${base}/domains`, { domain: values.domain });
      if (!claimed.ok) return formMessage.show(messageOf(claimed));
      load(`Publish the TXT record for ${claimed.body.domain}, then verify it.`);
    });
    claim.querySelector("h1").replaceWith(h("h3", {}, "Add a domain"));
    panel.replaceChildren(message, saveForm, actions,
      h("h2", {}, "E-mail domains"),
      h("p", {}, "Addresses of a verified domain sign in with this provider from the login page, and new people of it may join. Requiring single sign-on refuses their passwords (this organization's admins keep theirs)."),
      domainTable, claim);
  };
  load();
  return panel;
}

/** After the organization is gone, its sessions are too: the person is signed out, and told where a new
 * login takes them if the account is in other organizations. */
export function afterDeletion(name, others) {
  const next = others.length ? ` Log in again to continue in ${others.map((o) => o.name).join(" or ")}.` : "";
  signedOut(`${name} is deleted, and you are signed out.${next}`);
}
