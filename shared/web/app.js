// The pages of the accounts service: one module, no framework, no build step. The JSON API is its only
// interface; every text that comes from it or from a person is put into the page as text (textContent),
// never as HTML. The session is the HttpOnly cookie the login sets; requests that change something are
// sent as JSON from this origin, which the API requires of cookie-authenticated requests. The pure rules
// (what a selection sends, how values read) live in rules.js, which the web function serves under its
// content-hashed name and rewrites this import to.

import { changeText, experienceText, experienceValues, plural, rightChange, teamChanges, teamStates, waitingForActivation } from "./rules.js";

const main = document.getElementById("main");

/** An element with attributes and children (strings become text nodes). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) element.append(child);
  }
  return element;
}

/** Calls the API; resolves to {ok, status, body}. Never throws for an HTTP answer. */
async function api(method, path, body) {
  const options = { method, credentials: "same-origin", headers: { accept: "application/json" } };
  if (method !== "GET") {
    options.headers["content-type"] = "application/json";
    options.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(`/api${path}`, options);
  } catch {
    return { ok: false, status: 0, body: { messages: [{ error: "The service cannot be reached; check your connection and try again." }] } };
  }
  // An answer without a JSON body (a 204, a gateway's HTML error) has none.
  const parsed = await response.json().catch(() => null);
  const skipped = Number(response.headers.get("x-mails-skipped") || 0);
  return { ok: response.ok, status: response.status, body: parsed, next: response.headers.get("x-next-cursor"), skipped };
}

/** What a saved change adds when its mails were skipped over today's mail budget (the change itself happened). */
function skippedNote(answer) {
  return answer.skipped ? ` Its notification ${answer.skipped === 1 ? "mail was" : "mails were"} not sent: today's mail budget is used up.` : "";
}

/** The readable message of an API answer (its error text, or a fallback). */
function messageOf(answer, fallback = "Something went wrong; please try again.") {
  const message = answer.body?.messages?.[0];
  return message?.error || message?.success || fallback;
}

function codeOf(answer) {
  return answer.body?.messages?.[0]?.code || "";
}

/** A live region for messages: read out by screen readers, styled as error or success. */
function notice() {
  const element = h("p", { class: "notice", role: "status", "aria-live": "polite", hidden: true });
  element.show = (text, kind = "error") => {
    element.textContent = text;
    element.className = `notice ${kind}`;
    element.hidden = false;
  };
  element.clear = () => {
    element.hidden = true;
    element.textContent = "";
  };
  return element;
}

let fieldCounter = 0;

/** A labelled input. */
function field(label, attributes) {
  const id = `field-${++fieldCounter}`;
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attributes }));
}

/** A form whose submit runs `action(values)`; the button is disabled while it runs. */
function form(title, fields, submitLabel, action, extra = []) {
  const message = notice();
  const button = h("button", { type: "submit" }, submitLabel);
  const element = h("form", { novalidate: false }, h("h1", {}, title), message, fields, button, extra);
  element.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.clear();
    button.disabled = true;
    const values = Object.fromEntries(new FormData(element).entries());
    try {
      await action(values, message);
    } finally {
      button.disabled = false;
    }
  });
  return element;
}

function show(...children) {
  main.replaceChildren(...children);
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · WEBKNOSSOS` : "WEBKNOSSOS";
  main.focus();
}

function go(path) {
  history.pushState(null, "", path);
  return route();
}

function link(path, text) {
  return h("a", { href: path, onclick: (event) => { event.preventDefault(); go(path); } }, text);
}

const password = (label, name) => field(label, { name, type: "password", required: true, minlength: 8, autocomplete: "new-password" });

async function login(email, secret) {
  return api("POST", "/auth/login", { email, password: secret });
}

/** Whether this instance signs people in with an identity provider (the document says so). */
const singleSignOn = document.querySelector('meta[name="single-sign-on"]')?.content === "on";
/** Whether people may register into the instance's self-registration organization (`/auth/register`). */
const selfRegistration = document.querySelector('meta[name="self-registration"]')?.content === "on";

/** Starts a sign-in at `query`'s provider (the login route's parameters) and goes there; the answer when
 * it did not start. */
async function startSignIn(query) {
  const answer = await api("GET", `/auth/oidc/login${query ? `?${new URLSearchParams(query)}` : ""}`);
  if (answer.ok && answer.body?.redirect_url) location.assign(answer.body.redirect_url);
  return answer;
}

/** A button that starts a sign-in at `query`'s provider; disabled while it starts, and `message` shows why
 * it did not. */
function signInButton(label, query, message, attributes = {}) {
  const button = h("button", { type: "button", ...attributes }, label);
  button.addEventListener("click", async () => {
    message.clear();
    button.disabled = true;
    const answer = await startSignIn(query);
    if (answer.ok) return;
    message.show(messageOf(answer));
    button.disabled = false;
  });
  return button;
}

/** "Sign in with your institution": the instance's identity provider. */
function institutionSignIn() {
  const message = notice();
  return h("div", { class: "institution" }, message,
    signInButton("Sign in with your institution", null, message, { class: "secondary" }));
}

/** Whether this browser can use passkeys with WebAuthn's JSON forms. */
const passkeysSupported = typeof window.PublicKeyCredential?.parseRequestOptionsFromJSON === "function";

/** An API-shaped refusal for a passkey the browser did not use (so pages show it like the API's). */
function passkeyRefusal(error) {
  const text = error?.name === "NotAllowedError"
    ? "No passkey was used: it was cancelled, it timed out, or this device holds no passkey of this site."
    : error?.name === "InvalidStateError"
      ? "This device holds a passkey of your account already."
      : `The passkey could not be used (${error?.message || error}).`;
  return { ok: false, status: 0, body: { messages: [{ error: text }] } };
}

/** Signs in with a passkey of this site, no address asked: the API's answer, or why it did not. */
async function passkeySignIn() {
  const options = await api("POST", "/auth/webauthn/auth/start");
  if (!options.ok) return options;
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body);
    const credential = await navigator.credentials.get({ publicKey });
    return api("POST", "/auth/webauthn/auth/finalize", { key: credential.toJSON() });
  } catch (error) {
    return passkeyRefusal(error);
  }
}

/** Registers a passkey named `name` for the signed-in account: the API's answer, or why it did not. */
async function addPasskey(name) {
  const options = await api("POST", "/auth/webauthn/register/start");
  if (!options.ok) return options;
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body);
    const credential = await navigator.credentials.create({ publicKey });
    return api("POST", "/auth/webauthn/register/finalize", { name, key: credential.toJSON() });
  } catch (error) {
    return passkeyRefusal(error);
  }
}

/** "Sign in with a passkey" on the login page; `message` shows why it did not. */
function passkeyButton(after, message) {
  const button = h("button", { type: "button", class: "secondary" }, "Sign in with a passkey");
  button.addEventListener("click", async () => {
    message.clear();
    button.disabled = true;
    const answer = await passkeySignIn();
    button.disabled = false;
    if (answer.ok) return go(after);
    message.show(messageOf(answer));
  });
  return button;
}

/** The login asks for the address first: an address of a domain an organization verified goes to that
 * organization's identity provider (home-realm discovery); any other asks for its password next. "Use my
 * password" skips the question (an organization's admins keep their password when its provider fails). */
function loginPage(after = "/") {
  const email = field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "username" });
  const secret = field("Password", { name: "password", type: "password", autocomplete: "current-password" });
  const secretInput = secret.querySelector("input");
  const passkeyMessage = notice();
  const usePassword = h("button", { type: "button", class: "link", onclick: () => {
    askPassword(true);
    secretInput.focus();
  } }, "Use my password");
  const element = form(
    "Log in",
    [email, secret],
    "Continue",
    async (values, message) => {
      if (secret.hidden) {
        const answer = await startSignIn({ email: values.email });
        if (answer.ok) return;
        if (answer.status === 400) return message.show(messageOf(answer));
        // No organization signs this domain in (or its provider is unreachable): the password.
        if (answer.status !== 404) message.show(messageOf(answer));
        askPassword(true);
        return secretInput.focus();
      }
      const answer = await login(values.email, values.password);
      if (answer.ok) return go(after);
      message.show(messageOf(answer));
      // Refused for the address's domain: back to the address, whose Continue goes to the provider.
      if (codeOf(answer) === "auth.sso.required") askPassword(false);
    },
    [
      usePassword,
      passkeysSupported ? h("div", { class: "institution" }, passkeyMessage, passkeyButton(after, passkeyMessage)) : [],
      singleSignOn ? institutionSignIn() : [],
      h("p", { class: "links" }, link("/auth/resetPassword", "Forgot your password?"), " · ",
        selfRegistration ? [link("/auth/register", "Create an account"), " · "] : [], link("/auth/signup", "Create an organization")),
    ],
  );
  const submit = element.querySelector("button[type=submit]");
  /** The password step, or back to the address step. */
  function askPassword(show) {
    secret.hidden = !show;
    secretInput.required = show;
    submit.textContent = show ? "Log in" : "Continue";
    usePassword.hidden = show;
  }
  askPassword(false);
  return element;
}

function signupPage() {
  return form(
    "Create an organization",
    [
      field("Organization name", { name: "organizationName", required: true, autocomplete: "organization" }),
      field("First name", { name: "firstName", required: true, autocomplete: "given-name" }),
      field("Last name", { name: "lastName", required: true, autocomplete: "family-name" }),
      field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "email" }),
      password("Password (8 characters or more)", "password1"),
      password("Password again", "password2"),
    ],
    "Create organization",
    async (values, message) => {
      const { password1, password2, ...rest } = values;
      const answer = await api("POST", "/auth/createOrganizationWithAdmin", { ...rest, password: { password1, password2 } });
      if (!answer.ok) return message.show(messageOf(answer));
      const session = await login(values.email, password1);
      if (session.ok) go("/");
      else go("/auth/login");
    },
    h("p", { class: "links" }, "Have an account? ", link("/auth/login", "Log in")),
  );
}

/** Registering into the instance's self-registration organization: the account starts active where the
 * organization verifies new people automatically (then it is signed in), else it waits for an admin. */
function registerPage() {
  if (!selfRegistration) {
    return h("section", {}, h("h1", {}, "Create an account"),
      h("p", { class: "notice", role: "status" }, "This instance takes new people by invitation only: ask an organization's admin to invite you, or create an organization."),
      h("p", { class: "links" }, link("/auth/signup", "Create an organization"), " · ", link("/auth/login", "Log in")));
  }
  return form(
    "Create an account",
    [
      field("First name", { name: "firstName", required: true, autocomplete: "given-name" }),
      field("Last name", { name: "lastName", required: true, autocomplete: "family-name" }),
      field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "email" }),
      password("Password (8 characters or more)", "password1"),
      password("Password again", "password2"),
    ],
    "Create account",
    async (values, message) => {
      const { password1, password2, ...rest } = values;
      const answer = await api("POST", "/auth/register", { ...rest, password: { password1, password2 } });
      if (!answer.ok) return message.show(messageOf(answer));
      if (!answer.body.isActive) {
        return show(h("section", {}, h("h1", {}, "Waiting for activation"),
          h("p", { class: "notice success", role: "status" }, `Your account ${answer.body.email} is created. An admin of the organization activates it; then you can log in.`),
          h("p", { class: "links" }, link("/auth/login", "Log in"))));
      }
      const session = await login(values.email, password1);
      go(session.ok ? "/" : "/auth/login");
    },
    h("p", { class: "links" }, "Have an account? ", link("/auth/login", "Log in")),
  );
}

function resetRequestPage() {
  return form(
    "Reset your password",
    [field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "email" })],
    "Send me a link",
    async (values, message) => {
      const answer = await api("POST", "/auth/startResetPassword", { email: values.email });
      message.show(messageOf(answer), answer.ok ? "success" : "error");
    },
    h("p", { class: "links" }, link("/auth/login", "Back to the login")),
  );
}

function resetFinishPage() {
  const token = new URLSearchParams(location.search).get("token") || "";
  return form(
    "Choose a new password",
    [password("New password (8 characters or more)", "password1"), password("New password again", "password2")],
    "Set password",
    async (values, message) => {
      const answer = await api("POST", "/auth/resetPassword", { token, password: values });
      if (answer.ok) {
        show(h("section", {}, h("h1", {}, "Password changed"), h("p", {}, messageOf(answer)), h("p", {}, link("/auth/login", "Log in"))));
      } else {
        message.show(messageOf(answer));
      }
    },
  );
}

// Opening the link changes nothing: the account that asked for it confirms, by pressing the button while
// logged in as itself or by giving its password (a mail scanner or someone else's mailbox cannot).
async function verifyPage(key) {
  show(h("section", {}, h("h1", {}, "Verify your e-mail address"), h("p", {}, "One moment…")));
  const path = `/verifyEmail/${encodeURIComponent(key)}`;
  const verified = () =>
    show(
      h(
        "section",
        {},
        h("h1", {}, "E-mail address verified"),
        h("p", { class: "notice success", role: "status" }, "Thank you: your e-mail address is verified."),
        h("p", {}, link("/", "Go to your account")),
      ),
    );
  const redeem = async (body, message) => {
    const answer = await api("POST", path, body);
    if (answer.ok) verified();
    else if (codeOf(answer) === "user.currentPassword.wrong") message.show("This is not the password of the account the link is for.");
    else message.show(messageOf(answer));
  };
  const me = await api("GET", "/user");
  if (me.ok) {
    const message = notice();
    const button = h("button", { type: "button", onclick: async () => { button.disabled = true; await redeem({}, message); button.disabled = false; } }, "Verify my address");
    // The link may be another account's: log out here and confirm with that account's password.
    const other = h("button", { type: "button", class: "secondary", onclick: async () => { await api("POST", "/auth/logout"); verifyPage(key); } }, "Log out and use another account");
    return show(
      h(
        "section",
        {},
        h("h1", {}, "Verify your e-mail address"),
        h("p", {}, "You are logged in as ", h("strong", {}, me.body.email), ". If this link was sent for this account, confirm the address."),
        message,
        h("div", { class: "actions" }, button, other),
      ),
    );
  }
  show(
    form(
      "Verify your e-mail address",
      [
        h("p", {}, "Give the password of the account that asked for this link. Nothing changes until you confirm."),
        field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
      ],
      "Verify my address",
      (values, message) => redeem({ password: values.password }, message),
      h("p", { class: "links" }, link("/auth/resetPassword", "Forgot your password?")),
    ),
  );
}

// The mailbox named for an organization's notices confirms them; opening the link changes nothing.
function confirmNotificationsPage(token) {
  const message = notice();
  const button = h("button", { type: "button", onclick: async () => {
    button.disabled = true;
    const answer = await api("POST", `/notificationAddresses/${encodeURIComponent(token)}`);
    button.disabled = false;
    if (!answer.ok) return message.show(messageOf(answer));
    show(h("section", {}, h("h1", {}, "Notices confirmed"), h("p", { class: "notice success", role: "status" }, "This address gets the organization's notices from now on.")));
  } }, "Yes, send the notices here");
  show(
    h(
      "section",
      {},
      h("h1", {}, "Confirm notices to this address"),
      h("p", {}, "An admin of an organization on WEBKNOSSOS asked to send its notices (new users, plan and storage) to this address. Nothing is sent here until you confirm."),
      message,
      button,
    ),
  );
}

async function invitePage(token) {
  show(h("section", {}, h("h1", {}, "Invitation"), h("p", {}, "Loading the invitation…")));
  const path = encodeURIComponent(token);
  const [invite, me] = await Promise.all([api("GET", `/organizations/byInvite/${path}`), api("GET", "/user")]);
  if (!invite.ok) {
    const whom = codeOf(invite) === "invite.notFound" ? "Check that the link was copied completely." : "Ask the person who invited you, or an admin of the organization, for a new invitation.";
    return show(h("section", {}, h("h1", {}, "This invitation cannot be used"), h("p", { class: "notice error", role: "status" }, messageOf(invite)), h("p", {}, whom)));
  }
  const { name, invitedBy, invitedEmail } = invite.body;
  const intro = h("p", {}, h("strong", {}, invitedBy), " invited you to the organization ", h("strong", {}, name), ".");
  const join = async (message) => {
    const joined = await api("POST", `/auth/joinOrganization/${path}`);
    if (!joined.ok) return message.show(messageOf(joined));
    const switched = await api("POST", `/auth/switchOrganization/${encodeURIComponent(joined.body.organization)}`);
    if (!switched.ok) return message.show(messageOf(switched));
    go("/");
  };
  if (me.ok) {
    const message = notice();
    const button = h("button", { type: "button", onclick: async () => { button.disabled = true; await join(message); button.disabled = false; } }, `Join ${name}`);
    return show(h("section", {}, h("h1", {}, `Join ${name}`), intro, h("p", {}, "You are logged in as ", h("strong", {}, me.body.email), "."), message, button));
  }
  const signup = form(
    `Join ${name}`,
    [
      intro,
      field("First name", { name: "firstName", required: true, autocomplete: "given-name" }),
      field("Last name", { name: "lastName", required: true, autocomplete: "family-name" }),
      // The invitation proves only the address it was mailed to, so that is the one an account is made for.
      field("E-mail address (the invited one)", { name: "email", type: "email", required: true, autocomplete: "email", value: invitedEmail, readonly: true }),
      password("Password (8 characters or more)", "password1"),
      password("Password again", "password2"),
    ],
    "Create account and join",
    async (values, message) => {
      const { password1, password2, ...rest } = values;
      const answer = await api("POST", "/auth/register", { ...rest, password: { password1, password2 }, inviteToken: token });
      if (!answer.ok) return message.show(messageOf(answer));
      const session = await login(values.email, password1);
      if (!session.ok) return message.show(messageOf(session));
      go("/");
    },
  );
  const existing = form(
    "Already have an account?",
    [
      field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "username" }),
      field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
    ],
    "Log in and join",
    async (values, message) => {
      const session = await login(values.email, values.password);
      if (!session.ok) return message.show(messageOf(session));
      await join(message);
    },
  );
  existing.querySelector("h1").replaceWith(h("h2", {}, "Already have an account?"));
  show(h("div", { class: "columns" }, signup, existing));
}

async function homePage() {
  const me = await api("GET", "/user");
  if (me.status === 401) return go("/auth/login");
  if (!me.ok) return show(h("section", {}, h("h1", {}, "Your account"), h("p", { class: "notice error", role: "status" }, messageOf(me))));
  const user = me.body;
  navigation(user);
  const message = notice();
  const organizations = await api("GET", "/organizations?compact=true");
  const current = user.organization;
  const switcher = h(
    "ul",
    { class: "organizations", "aria-label": "Your organizations" },
    (organizations.ok ? organizations.body : []).map((organization) =>
      h(
        "li",
        {},
        h("span", {}, organization.name, organization.id === current ? h("span", { class: "current" }, " (current)") : null),
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
function passwordSection() {
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
function passkeysSection() {
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

// ---------------------------------------------------------------------------------------------------------
// The administration pages: Users, Invites, Teams, Organization. Each shows only what the API allows the
// caller (admins everything, team managers their teams' members), and shows the API's refusal if one comes.

const PAGE_SIZE = 50;

const isTeamManager = (user) => user.teams.some((team) => team.isTeamManager);
const fullName = (user) => `${user.firstName} ${user.lastName}`;
const date = (millis) => (millis ? new Date(millis).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "—");

/** The signed-in person, or null after sending them to the login (the page is shown again after it). */
async function signedIn() {
  const me = await api("GET", "/user");
  if (me.status === 401) {
    show(loginPage(location.pathname + location.search));
    return null;
  }
  if (!me.ok) {
    show(h("section", {}, h("h1", {}, "Your account"), h("p", { class: "notice error", role: "status" }, messageOf(me))));
    return null;
  }
  navigation(me.body);
  return me.body;
}

/** The header's links: the account, and the administration pages the person may use. */
function navigation(user) {
  const pages = [["/", "Account"]];
  if (user && (user.isAdmin || isTeamManager(user))) pages.push(["/users", "Users"], ["/invites", "Invites"], ["/teams", "Teams"]);
  if (user && user.isAdmin) pages.push(["/organization", "Organization"]);
  if (user && (user.isAdmin || user.isOrganizationOwner)) pages.push(["/audit", "Audit log"]);
  const bar = document.querySelector("header.bar");
  bar.querySelector("nav")?.remove();
  if (!user) return;
  bar.append(
    h("nav", { "aria-label": "Main" },
      h("ul", {}, pages.map(([path, text]) => {
        const anchor = link(path, text);
        if (location.pathname === path) anchor.setAttribute("aria-current", "page");
        return h("li", {}, anchor);
      }))),
  );
}

/** A page that needs admin or team manager rights: its frame, or a refusal if the person has neither. */
function adminFrame(user, title, allowed, ...content) {
  if (!allowed) {
    return show(h("section", {}, h("h1", {}, title), h("p", { class: "notice error", role: "status" }, "This page is for admins and team managers of the organization.")));
  }
  show(h("section", { class: "wide" }, h("h1", {}, title), ...content));
}

let dialogCounter = 0;

/** A modal dialog with a form: Escape or Cancel closes it, focus stays inside while it is open.
 * `action(message)` runs on submit and returns true to close it. */
function dialog(title, body, submitLabel, action) {
  const headingId = `dialog-${++dialogCounter}`;
  const message = notice();
  const submit = h("button", { type: "submit" }, submitLabel);
  const element = h("dialog", { "aria-labelledby": headingId });
  const cancel = h("button", { type: "button", class: "secondary", onclick: () => element.close() }, "Cancel");
  const content = h("form", {}, h("h2", { id: headingId }, title), message, body, h("div", { class: "actions" }, submit, cancel));
  content.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.clear();
    submit.disabled = true;
    try {
      if (await action(message, element)) element.close();
    } finally {
      submit.disabled = false;
    }
  });
  element.append(content);
  element.addEventListener("close", () => element.remove());
  // Tab goes round inside the dialog (a modal dialog would otherwise let it out to the browser).
  element.addEventListener("keydown", (event) => {
    if (event.key !== "Tab") return;
    const focusable = [...element.querySelectorAll("input, select, textarea, button")].filter((e) => !e.disabled);
    const [first, last] = [focusable[0], focusable[focusable.length - 1]];
    if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    } else if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    }
  });
  document.body.append(element);
  element.showModal();
  // The first field, not the (scrollable, so focusable) form.
  element.querySelector("input, select, textarea, button")?.focus();
  return element;
}

/** The teams a person may hand out: all for admins, the managed ones for team managers. */
async function assignableTeams(user) {
  const answer = await api("GET", user.isAdmin ? "/teams" : "/teams?isEditable=true");
  return answer.ok ? answer.body : [];
}

/** One role selector per team (not a member / Member / Team Manager), each starting at its team's state
 * ("", "member", "manager", or "mixed", which offers "Mixed: leave as is"). Gives the fieldset and, per
 * team, its id, state and chosen value. */
function teamSelectors(teams, states) {
  const selects = teams.map((team) => {
    const id = `field-${++fieldCounter}`;
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
function teamRoles(teams, roles = new Map()) {
  const states = new Map([...roles].map(([id, manager]) => [id, manager ? "manager" : "member"]));
  const { element, choices } = teamSelectors(teams, states);
  element.value = () => choices().filter((c) => c.chosen).map((c) => ({ id: c.id, isTeamManager: c.chosen === "manager" }));
  return element;
}

/** A checkbox with its label. */
function checkbox(label, attributes = {}) {
  const id = `field-${++fieldCounter}`;
  const input = h("input", { id, type: "checkbox", ...attributes });
  return [h("div", { class: "check" }, input, h("label", { for: id }, label)), input];
}

/** Admin and dataset manager rights (admins only: team managers cannot grant them). */
function permissions(viewer, current = {}) {
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
function teamChangeFields(teams, states) {
  const { element, choices } = teamSelectors(teams, states);
  element.value = () => teamChanges(choices());
  return element;
}

/** Admin and dataset manager rights for a selection (admins only): each box starts checked when all of
 * them have the right, unchecked when none has, half-checked ("mixed") when some have; `value()` gives
 * only the rights the person changed. */
function selectionPermissions(viewer, users) {
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

async function teamsAndPermissionsDialog(viewer, users, done) {
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

async function activateDialog(viewer, user, done) {
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

async function experienceDialog(users, done) {
  const current = experienceValues(users);
  const now = current.size
    ? h("div", {}, h("p", {}, "They have now:"), h("ul", { class: "tags" }, [...current].map(([domain, values]) => h("li", {}, experienceText(domain, values, users.length)))))
    : h("p", {}, users.length === 1 ? "No experiences yet." : "None of them has an experience yet.");
  const domains = await api("GET", "/tasks/experienceDomains");
  const listId = `domains-${++dialogCounter}`;
  const domain = field("Domain (pick one or type a new one)", { name: "domain", required: true, list: listId, autocomplete: "off" });
  const list = h("datalist", { id: listId }, (domains.ok ? domains.body : []).map((d) => h("option", { value: d })));
  const value = field("Value", { name: "value", type: "number", min: 0, step: 1, value: 1 });
  const [removeRow, remove] = checkbox("Remove this domain from them instead");
  remove.addEventListener("change", () => { value.querySelector("input").disabled = remove.checked; });
  // A domain all of them have at one value starts from that value.
  domain.querySelector("input").addEventListener("input", (event) => {
    const values = current.get(event.target.value.trim());
    if (values?.length === users.length && new Set(values).size === 1) value.querySelector("input").value = String(values[0]);
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

function editUserDialog(viewer, user, done) {
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
    if (own && patch.email.trim() === user.email) delete patch.email;
    if (!patch.currentPassword) delete patch.currentPassword;
    if (own && patch.email && !patch.currentPassword) return message.show("Enter your current password to change your e-mail address."), false;
    if (grantsDeletion && deletion.checked !== Boolean(user.mayDeleteOrganization)) patch.mayDeleteOrganization = deletion.checked;
    const answer = await api("PATCH", `/users/${encodeURIComponent(user.id)}`, patch);
    if (!answer.ok) return message.show(messageOf(answer)), false;
    done(`${fullName(answer.body)} saved.${skippedNote(answer)}`);
    return true;
  });
}

const RECIPIENT_STATUS = {
  invited: "Invitation sent",
  notMailed: "Saved, but the mail could not be sent: resend it from Invites",
  notStored: "Not sent: please try again",
  invalid: "Not a valid e-mail address",
  duplicate: "Listed twice",
  alreadyMember: "Already a member",
  alreadyInvited: "Already invited",
};

async function inviteDialog(viewer, done) {
  const teams = await assignableTeams(viewer);
  const addressesId = `field-${++fieldCounter}`;
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

/** A table in a box that scrolls sideways on a narrow screen (the page itself does not). */
function table(caption, headings, rows) {
  return h("div", { class: "table", tabindex: 0, role: "region", "aria-label": caption },
    h("table", {}, h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows)));
}

async function usersPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  const state = { status: "true", verified: "", search: "", cursors: [null], page: 0, selected: new Map() };
  const statusId = `field-${++fieldCounter}`;
  const verifiedId = `field-${++fieldCounter}`;
  const searchId = `field-${++fieldCounter}`;
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
    const query = new URLSearchParams({ limit: PAGE_SIZE });
    if (state.status) query.set("isActive", state.status);
    if (state.verified) query.set("isEmailVerified", state.verified);
    if (state.search) query.set("search", state.search);
    const cursor = state.cursors[state.page];
    if (cursor) query.set("cursor", cursor);
    list.setAttribute("aria-busy", "true");
    const answer = await api("GET", `/users?${query}`);
    if (ticket !== loading) return; // A newer search or page replaced this one.
    list.removeAttribute("aria-busy");
    if (!answer.ok) return message.show(messageOf(answer));
    state.cursors[state.page + 1] = answer.next;
    previous.disabled = state.page === 0;
    next.disabled = !answer.next;
    position.textContent = `Page ${state.page + 1}`;
    updateSelection();
    list.replaceChildren(answer.body.length
      ? table("Users", ["Select", "Name", "E-mail", "Teams", "Experiences", "Last activity", "Access", "Actions"], answer.body.map(row))
      : h("p", { class: "empty" }, "No users match."));
  }
  const restart = () => {
    state.cursors = [null];
    state.page = 0;
    load();
  };
  status.addEventListener("change", () => { state.status = status.value; restart(); });
  verified.addEventListener("change", () => { state.verified = verified.value; restart(); });
  let typing;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => { state.search = search.value.trim(); restart(); }, 250);
  });
  previous.addEventListener("click", () => { state.page -= 1; load(); });
  next.addEventListener("click", () => { state.page += 1; load(); });

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

const INVITE_STATE = { pending: "Pending", accepted: "Accepted", revoked: "Revoked", expired: "Expired" };

async function invitesPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  const stateId = `field-${++fieldCounter}`;
  const filter = h("select", { id: stateId },
    h("option", { value: "" }, "All"), Object.entries(INVITE_STATE).map(([value, text]) => h("option", { value }, text)));
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
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
    const query = new URLSearchParams({ limit: PAGE_SIZE });
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

async function teamsPage() {
  const viewer = await signedIn();
  if (!viewer) return;
  const message = notice();
  const list = h("ul", { class: "team-list" });

  const members = async (team, container, button, after) => {
    const query = new URLSearchParams({ limit: 100 });
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
      const answer = await api("GET", `/users?${new URLSearchParams({ search: query, isActive: "true", limit: 10 })}`);
      if (!answer.ok) return results.replaceChildren(h("li", {}, messageOf(answer)));
      const outside = answer.body.filter((user) => !user.teams.some((t) => t.id === team.id));
      results.replaceChildren(...(outside.length ? outside.map((user) => {
        const id = `field-${++fieldCounter}`;
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

function bytes(count) {
  if (count === null || count === undefined) return "unlimited";
  const units = ["B", "KB", "MB", "GB", "TB", "PB"];
  let value = count;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} ${units[unit]}`;
}

/** Tabs: buttons that show one panel each; the arrow keys move between them. */
function tabs(label, entries) {
  const buttons = [];
  const panels = [];
  const select = (index, focus) => {
    buttons.forEach((button, i) => {
      button.setAttribute("aria-selected", String(i === index));
      button.tabIndex = i === index ? 0 : -1;
      panels[i].hidden = i !== index;
    });
    if (focus) buttons[index].focus();
  };
  entries.forEach(([title, content], index) => {
    const id = `tab-${++dialogCounter}`;
    const button = h("button", { type: "button", role: "tab", id, "aria-controls": `${id}-panel`, class: "tab" }, title);
    button.addEventListener("click", () => select(index, false));
    button.addEventListener("keydown", (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (step) {
        event.preventDefault();
        select((index + step + entries.length) % entries.length, true);
      }
    });
    buttons.push(button);
    panels.push(h("div", { role: "tabpanel", id: `${id}-panel`, "aria-labelledby": id, tabindex: 0 }, content));
  });
  select(0, false);
  return [h("div", { role: "tablist", "aria-label": label, class: "tabs" }, buttons), ...panels];
}

/** One on/off setting of the organization with its own Save button and notice (not a form: the tabs'
 * forms keep their places). A refused change puts the box back and shows the API's message. */
function settingSwitch(organization, key, { heading, explanation, label, save, on, off }) {
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

async function organizationPage() {
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

  const recipientsId = `field-${++fieldCounter}`;
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
  const askId = `field-${++fieldCounter}`;
  const ask = h("select", { id: askId, name: "kind" }, asks.map(([value, text]) => h("option", { value }, text)));
  const planId = `field-${++fieldCounter}`;
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
  if (viewer.mayDeleteOrganization) {
    const confirmId = `field-${++fieldCounter}`;
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

/** The Organization page's Single sign-on tab: the organization's own identity provider connection (its
 * client secret is write-only), a test that signs the admin in through it (and links them), and the
 * e-mail domains it proves by DNS, each of which may require single sign-on. */
function singleSignOnTab(organization) {
  const base = `/organizations/${encodeURIComponent(organization.id)}`;
  const panel = h("div", {}, h("p", {}, "Loading…"));
  const load = async (note) => {
    const answer = await api("GET", `${base}/sso`);
    if (!answer.ok) return panel.replaceChildren(h("p", { class: "notice error", role: "status" }, messageOf(answer)));
    const { connection, domains, callbackUrl } = answer.body;
    const policyId = `field-${++fieldCounter}`;
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
function afterDeletion(name, others) {
  navigation(null);
  history.pushState(null, "", "/auth/login");
  show(loginPage("/"));
  const next = others.length ? ` Log in again to continue in ${others.map((o) => o.name).join(" or ")}.` : "";
  main.querySelector("form").prepend(h("p", { class: "notice success", role: "status" }, `${name} is deleted, and you are signed out.${next}`));
}

const AUDIT_CATEGORIES = [["", "All actions"], ["auth.", "Logins and sessions"], ["token.", "API tokens"], ["invite.", "Invitations"], ["user.", "Users"], ["team.", "Teams"], ["organization.", "Organization"], ["account.", "Passwords and addresses"]];

/** What an entry changed, as one line of text: `field: old → new`, or the facts it records. */
/** The start (or, with `end`, the last millisecond) of a `YYYY-MM-DD` day in local time, as epoch ms. */
function dayMillis(day, end) {
  const [year, month, date] = day.split("-").map(Number);
  const start = new Date(year, month - 1, date).getTime();
  return end ? start + 86_399_999 : start;
}

async function auditPage() {
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
  const ids = { action: `field-${++fieldCounter}`, from: `field-${++fieldCounter}`, to: `field-${++fieldCounter}` };
  const action = h("select", { id: ids.action }, AUDIT_CATEGORIES.map(([value, text]) => h("option", { value }, text)));
  const from = h("input", { id: ids.from, type: "date" });
  const to = h("input", { id: ids.to, type: "date" });
  // Clicking a person or subject in the log narrows it to them; the chip says so and undoes it.
  const narrowed = { actor: null, target: null };
  const chips = h("div", { class: "chips" });
  const body = h("tbody");
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show more");
  const download = h("a", { class: "button secondary", download: "audit-log.csv" }, "Download CSV");
  let cursor = null;

  const query = () => {
    const parameters = new URLSearchParams();
    if (action.value) parameters.set("action", action.value);
    if (narrowed.actor) parameters.set("actor", narrowed.actor.id);
    if (narrowed.target) parameters.set("target", narrowed.target.id);
    if (from.value) parameters.set("from", dayMillis(from.value, false));
    if (to.value) parameters.set("to", dayMillis(to.value, true));
    return parameters;
  };
  const narrow = (kind, value) => {
    narrowed[kind] = value;
    chips.replaceChildren(...Object.entries(narrowed).filter(([, v]) => v).map(([k, v]) =>
      h("button", { type: "button", class: "chip", title: "Show all entries again", onclick: () => narrow(k, null) },
        `${k === "actor" ? "By" : "About"} ${v.label} ×`)));
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
    parameters.set("limit", PAGE_SIZE);
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

function notFoundPage() {
  return h("section", {}, h("h1", {}, "Page not found"), h("p", {}, "There is no page at this address. "), h("p", {}, link("/", "Go to your account")));
}

/** Shows the page of the current address. */
function route() {
  const path = location.pathname;
  const [, first, second, ...rest] = path.split("/");
  if (path === "/") return homePage();
  if (path === "/auth/login") return show(loginPage());
  if (path === "/auth/signup") return show(signupPage());
  if (path === "/auth/register") return show(registerPage());
  if (path === "/auth/resetPassword") return show(resetRequestPage());
  if (path === "/auth/finishResetPassword") return show(resetFinishPage());
  if (path === "/users") return usersPage();
  if (path === "/invites") return invitesPage();
  if (path === "/teams") return teamsPage();
  if (path === "/organization") return organizationPage();
  if (path === "/audit") return auditPage();
  if (first === "invite" && second && rest.length === 0) return invitePage(decodeURIComponent(second));
  if (first === "verifyEmail" && second && rest.length === 0) return verifyPage(decodeURIComponent(second));
  if (first === "confirmNotifications" && second && rest.length === 0) return confirmNotificationsPage(decodeURIComponent(second));
  show(notFoundPage());
}

window.addEventListener("popstate", route);
route();
