// @ts-check
// The pages' shared parts: building elements, calling the API, notices, forms, dialogs, tabs, tables,
// the header's navigation, and moving between pages (the router registers itself: see app.js).

/** What the API answered: `ok` for a 2xx status (0 when the service could not be reached), the JSON body
 * (null when there was none), the next page's cursor of a list (`X-Next-Cursor`), and how many notices
 * were not mailed for the mail budget (`X-Mails-Skipped`).
 * @typedef {{ ok: boolean, status: number, body: any, next?: string | null, skipped?: number }} Answer */

/** A live region for messages ([`notice`]).
 * @typedef {HTMLElement & { show(text: string, kind?: string): void, clear(): void }} Notice */

/** The document's one main region, which every page replaces the content of. */
export const main = /** @type {HTMLElement} */ (document.getElementById("main"));

/** An element with attributes and children (strings become text nodes). Typed `any`: each tag's own
 * properties (an input's `value`, a dialog's `showModal`) are the browser's.
 * @param {string} tag
 * @param {Record<string, any>} [attributes] `on…` names add listeners; `true` sets an empty attribute;
 *   `false`, null and undefined leave it out
 * @param {...any} children strings, nodes, arrays of them; null, undefined and false are skipped
 * @returns {any} */
export function h(tag, attributes = {}, ...children) {
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

/** Calls the API; never throws for an HTTP answer.
 * @param {string} method
 * @param {string} path below `/api`
 * @param {unknown} [body] sent as JSON (an empty object when left out) unless the method is GET
 * @returns {Promise<Answer>} */
export async function api(method, path, body) {
  /** @type {RequestInit & { headers: Record<string, string> }} */
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
export function skippedNote(answer) {
  return answer.skipped ? ` Its notification ${answer.skipped === 1 ? "mail was" : "mails were"} not sent: today's mail budget is used up.` : "";
}

/** The readable message of an API answer (its error text, or a fallback). */
export function messageOf(answer, fallback = "Something went wrong; please try again.") {
  const message = answer.body?.messages?.[0];
  return message?.error || message?.success || fallback;
}

export function codeOf(answer) {
  return answer.body?.messages?.[0]?.code || "";
}

/** A live region for messages: read out by screen readers, styled as error or success.
 * @returns {Notice} */
export function notice() {
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

let counter = 0;
/** A number new on every call, for the ids that tie labels, tabs and dialogs to their elements. */
export const nextId = () => ++counter;

/** A labelled input. */
export function field(label, attributes) {
  const id = `field-${nextId()}`;
  return h("div", { class: "field" }, h("label", { for: id }, label), h("input", { id, ...attributes }));
}

/** A form whose submit runs `action(values)`; the button is disabled while it runs. */
export function form(title, fields, submitLabel, action, extra = []) {
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

export function show(...children) {
  main.replaceChildren(...children);
  const heading = main.querySelector("h1");
  document.title = heading ? `${heading.textContent} · WEBKNOSSOS` : "WEBKNOSSOS";
  main.focus();
}

let router = () => {};

/** The router that shows the page of the current address: app.js registers it (pages import this module,
 * and app.js imports the pages). */
export function setRouter(route) {
  router = route;
}

export function go(path) {
  history.pushState(null, "", path);
  return router();
}

export function link(path, text) {
  return h("a", { href: path, onclick: (event) => { event.preventDefault(); go(path); } }, text);
}

export const password = (label, name) => field(label, { name, type: "password", required: true, minlength: 8, autocomplete: "new-password" });

export const PAGE_SIZE = 50;

export const isTeamManager = (user) => user.teams.some((team) => team.isTeamManager);

export const fullName = (user) => `${user.firstName} ${user.lastName}`;

export const date = (millis) => (millis ? new Date(millis).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" }) : "—");

/** The header's links: the account, and the administration pages the person may use. */
export function navigation(user) {
  const pages = [["/", "Account"]];
  if (user && (user.isAdmin || isTeamManager(user))) pages.push(["/users", "Users"], ["/invites", "Invites"], ["/teams", "Teams"]);
  if (user && user.isAdmin) pages.push(["/organization", "Organization"]);
  if (user && (user.isAdmin || user.isOrganizationOwner)) pages.push(["/audit", "Audit log"]);
  const bar = /** @type {HTMLElement} */ (document.querySelector("header.bar"));
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
export function adminFrame(user, title, allowed, ...content) {
  if (!allowed) {
    return show(h("section", {}, h("h1", {}, title), h("p", { class: "notice error", role: "status" }, "This page is for admins and team managers of the organization.")));
  }
  show(h("section", { class: "wide" }, h("h1", {}, title), ...content));
}

/** A modal dialog with a form: Escape or Cancel closes it, focus stays inside while it is open.
 * `action(message)` runs on submit and returns true to close it. */
export function dialog(title, body, submitLabel, action) {
  const headingId = `dialog-${nextId()}`;
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

/** A checkbox with its label. */
export function checkbox(label, attributes = {}) {
  const id = `field-${nextId()}`;
  const input = h("input", { id, type: "checkbox", ...attributes });
  return [h("div", { class: "check" }, input, h("label", { for: id }, label)), input];
}

/** A table in a box that scrolls sideways on a narrow screen (the page itself does not). */
export function table(caption, headings, rows) {
  return h("div", { class: "table", tabindex: 0, role: "region", "aria-label": caption },
    h("table", {}, h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, h("tr", {}, headings.map((heading) => h("th", { scope: "col" }, heading)))),
      h("tbody", {}, rows)));
}

export function bytes(count) {
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
export function tabs(label, entries) {
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
    const id = `tab-${nextId()}`;
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
