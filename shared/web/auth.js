// @ts-check
// Signing in, creating an account, and the pages mailed links open (reset, verification, invites, notices).

import { api, codeOf, field, form, go, h, link, main, messageOf, navigation, notice, password, show } from "./dom.js";

export async function login(email, secret) {
  return api("POST", "/auth/login", { email, password: secret });
}

/** Whether this instance signs people in with an identity provider (the document says so). */
export const singleSignOn = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="single-sign-on"]'))?.content === "on";

/** Whether people may register into the instance's self-registration organization (`/auth/register`). */
export const selfRegistration = /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="self-registration"]'))?.content === "on";

/** Starts a sign-in at `query`'s provider (the login route's parameters) and goes there; the answer when
 * it did not start. */
export async function startSignIn(query) {
  const answer = await api("GET", `/auth/oidc/login${query ? `?${new URLSearchParams(query)}` : ""}`);
  if (answer.ok && answer.body?.redirect_url) location.assign(answer.body.redirect_url);
  return answer;
}

/** A button that starts a sign-in at `query`'s provider; disabled while it starts, and `message` shows why
 * it did not. */
export function signInButton(label, query, message, attributes = {}) {
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
export function institutionSignIn() {
  const message = notice();
  return h("div", { class: "institution" }, message,
    signInButton("Sign in with your institution", null, message, { class: "secondary" }));
}

/** Whether this browser can use passkeys with WebAuthn's JSON forms. */
export const passkeysSupported = typeof window.PublicKeyCredential?.parseRequestOptionsFromJSON === "function";

/** An API-shaped refusal for a passkey the browser did not use (so pages show it like the API's). */
export function passkeyRefusal(error) {
  const text = error?.name === "NotAllowedError"
    ? "No passkey was used: it was cancelled, it timed out, or this device holds no passkey of this site."
    : error?.name === "InvalidStateError"
      ? "This device holds a passkey of your account already."
      : `The passkey could not be used (${error?.message || error}).`;
  return { ok: false, status: 0, body: { messages: [{ error: text }] } };
}

/** Signs in with a passkey of this site, no address asked: the API's answer, or why it did not. */
export async function passkeySignIn() {
  const options = await api("POST", "/auth/webauthn/auth/start");
  if (!options.ok) return options;
  try {
    const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options.body);
    const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.get({ publicKey }));
    return api("POST", "/auth/webauthn/auth/finalize", { key: credential.toJSON() });
  } catch (error) {
    return passkeyRefusal(error);
  }
}

/** Registers a passkey named `name` for the signed-in account: the API's answer, or why it did not. */
export async function addPasskey(name) {
  const options = await api("POST", "/auth/webauthn/register/start");
  if (!options.ok) return options;
  try {
    const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options.body);
    const credential = /** @type {PublicKeyCredential} */ (await navigator.credentials.create({ publicKey }));
    return api("POST", "/auth/webauthn/register/finalize", { name, key: credential.toJSON() });
  } catch (error) {
    return passkeyRefusal(error);
  }
}

/** "Sign in with a passkey" on the login page; `message` shows why it did not. */
export function passkeyButton(after, message) {
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
export function loginPage(after = "/") {
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

export function signupPage() {
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
export function registerPage() {
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

export function resetRequestPage() {
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

export function resetFinishPage() {
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
export async function verifyPage(key) {
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
export function confirmNotificationsPage(token) {
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

export async function invitePage(token) {
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

/** The signed-in person, or null after sending them to the login (the page is shown again after it). */
/** The login page after the session ended on this page's doing (the organization left or deleted), with
 * `note` saying so. */
export function signedOut(note) {
  navigation(null);
  history.pushState(null, "", "/auth/login");
  show(loginPage("/"));
  main.querySelector("form")?.prepend(h("p", { class: "notice success", role: "status" }, note));
}

export async function signedIn() {
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
