// The pages of the accounts service: one module, no framework, no build step. The JSON API is its only
// interface; every text that comes from it or from a person is put into the page as text (textContent),
// never as HTML. The session is the HttpOnly cookie the login sets; requests that change something are
// sent as JSON from this origin, which the API requires of cookie-authenticated requests.

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
  let parsed = null;
  try {
    parsed = await response.json();
  } catch {
    parsed = null;
  }
  return { ok: response.ok, status: response.status, body: parsed };
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
  route();
}

function link(path, text) {
  return h("a", { href: path, onclick: (event) => { event.preventDefault(); go(path); } }, text);
}

const password = (label, name) => field(label, { name, type: "password", required: true, minlength: 8, autocomplete: "new-password" });

async function login(email, secret) {
  return api("POST", "/auth/login", { email, password: secret });
}

function loginPage(after = "/") {
  return form(
    "Log in",
    [
      field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "username" }),
      field("Password", { name: "password", type: "password", required: true, autocomplete: "current-password" }),
    ],
    "Log in",
    async (values, message) => {
      const answer = await login(values.email, values.password);
      if (answer.ok) go(after);
      else message.show(messageOf(answer));
    },
    h("p", { class: "links" }, link("/auth/resetPassword", "Forgot your password?"), " · ", link("/auth/signup", "Create an organization")),
  );
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

async function verifyPage(key) {
  show(h("section", {}, h("h1", {}, "Verifying your e-mail address"), h("p", {}, "One moment…")));
  const answer = await api("POST", `/verifyEmail/${encodeURIComponent(key)}`);
  show(
    h(
      "section",
      {},
      h("h1", {}, answer.ok ? "E-mail address verified" : "This link did not work"),
      h("p", { class: answer.ok ? "notice success" : "notice error", role: "status" }, answer.ok ? "Thank you: your e-mail address is verified." : messageOf(answer)),
      h("p", {}, link("/", "Go to your account")),
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
      field("E-mail address", { name: "email", type: "email", required: true, autocomplete: "email", value: invitedEmail }),
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
  const logout = (path) => async () => {
    await api("POST", path);
    go("/auth/login");
  };
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
      verification,
      h("h2", {}, "Organizations"),
      switcher,
      tokenSection,
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: logout("/auth/logout") }, "Log out"),
        h("button", { type: "button", class: "secondary", onclick: logout("/auth/logoutEverywhere") }, "Log out everywhere")),
    ),
  );
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
  if (path === "/auth/resetPassword") return show(resetRequestPage());
  if (path === "/auth/finishResetPassword") return show(resetFinishPage());
  if (first === "invite" && second && rest.length === 0) return invitePage(decodeURIComponent(second));
  if (first === "verifyEmail" && second && rest.length === 0) return verifyPage(decodeURIComponent(second));
  show(notFoundPage());
}

window.addEventListener("popstate", route);
route();
