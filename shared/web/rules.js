// @ts-check
// The pages' pure rules: how a selection of users stands, what a dialog sends, how values read for people.
// No DOM and no requests here, so `node --test shared/web/` tests them (rules.test.js) and `tsc` checks them.

/**
 * @typedef {{ id: string, name?: string, isTeamManager: boolean }} Membership
 * @typedef {{ id: string, teams: Membership[], experiences: Record<string, number>, lastActivity: number, created: number }} User
 * @typedef {"" | "member" | "manager" | "mixed"} TeamState
 */

/** "1 user", "3 users". @param {number} count @param {string} one @param {string} [many] */
export const plural = (count, one, many = `${one}s`) => `${count} ${count === 1 ? one : many}`;

/**
 * How `users` stand in each of `teams`: "" (none of them is in it), "member" or "manager" (all of them are,
 * in that role), or "mixed".
 * @param {User[]} users @param {{ id: string }[]} teams @returns {Map<string, TeamState>}
 */
export function teamStates(users, teams) {
  return new Map(teams.map((team) => {
    const roles = new Set(users.map((user) => {
      const membership = user.teams.find((t) => t.id === team.id);
      return membership ? (membership.isTeamManager ? "manager" : "member") : "";
    }));
    /** @type {TeamState} */
    const state = roles.size === 1 ? /** @type {TeamState} */ ([...roles][0]) : "mixed";
    return [team.id, state];
  }));
}

/**
 * What a selection's team choices change, as the bulk route takes it: each team whose choice differs from
 * how the selection stood goes to `setTeams` (a role) or `removeTeams` (not a member); the rest stay.
 * @param {{ id: string, state: TeamState, chosen: TeamState }[]} choices
 * @returns {{ setTeams?: { id: string, isTeamManager: boolean }[], removeTeams?: string[] }}
 */
export function teamChanges(choices) {
  const changed = choices.filter((choice) => choice.chosen !== choice.state && choice.chosen !== "mixed");
  const setTeams = changed.filter((c) => c.chosen).map((c) => ({ id: c.id, isTeamManager: c.chosen === "manager" }));
  const removeTeams = changed.filter((c) => !c.chosen).map((c) => c.id);
  return { ...(setTeams.length ? { setTeams } : {}), ...(removeTeams.length ? { removeTeams } : {}) };
}

/**
 * A right's box for a selection, and what it sends: nothing while it is as it started (or still mixed); a
 * box that started mixed and was clicked sends what it shows.
 * @param {string} key @param {{ startedChecked: boolean, startedMixed: boolean, checked: boolean, mixed: boolean }} box
 * @returns {Record<string, boolean>}
 */
export function rightChange(key, box) {
  return !box.mixed && (box.startedMixed || box.checked !== box.startedChecked) ? { [key]: box.checked } : {};
}

/**
 * The experiences of a selection: domain -> the values of those of them who have it, by domain name.
 * @param {User[]} users @returns {Map<string, number[]>}
 */
export function experienceValues(users) {
  /** @type {Map<string, number[]>} */
  const values = new Map();
  for (const user of users) {
    for (const [domain, value] of Object.entries(user.experiences)) values.set(domain, [...(values.get(domain) ?? []), value]);
  }
  return new Map([...values].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * One domain's values across `count` selected users, for people: "nuclei: 7", "nuclei: 2–5 (3 of 4)".
 * @param {string} domain @param {number[]} values @param {number} count
 */
export function experienceText(domain, values, count) {
  const [low, high] = [Math.min(...values), Math.max(...values)];
  const range = low === high ? `${low}` : `${low}–${high}`;
  const who = count === 1 ? "" : values.length === count ? " (all of them)" : ` (${values.length} of ${count})`;
  return `${domain}: ${range}${who}`;
}

/**
 * The people who signed up and wait for activation: deactivated, and never active since they were created.
 * @param {User[]} inactive
 */
export const waitingForActivation = (inactive) => inactive.filter((user) => user.lastActivity <= user.created);

/**
 * One value of an audit entry's change, for people: times as dates, teams by name and role, yes and no,
 * "none" for nothing. `name` is the field's: a time is a field ending in At or Until, or `created`, in
 * milliseconds; an invite's `teams` maps team ids to isTeamManager.
 * @param {string} name @param {unknown} value @param {Map<string, string>} [teamNames]
 * @returns {string}
 */
export function auditValue(name, value, teamNames = new Map()) {
  if (value === null || value === undefined || value === "") return "none";
  if (Array.isArray(value)) {
    if (!value.length) return "none";
    return value.map((item) => (item && typeof item === "object" && "name" in item
      ? `${item.name}${"isTeamManager" in item && item.isTeamManager ? " (Team Manager)" : ""}`
      : auditValue(name, item, teamNames))).join(", ");
  }
  if (typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return "none";
    if (name === "teams") return entries.map(([id, manager]) => `${teamNames.get(id) ?? id}${manager === true ? " (Team Manager)" : ""}`).join(", ");
    return entries.map(([key, inner]) => `${key}: ${auditValue(key, inner, teamNames)}`).join(", ");
  }
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number" && /(At|Until|^created)$/.test(name) && value > 1e11) return new Date(value).toLocaleString();
  return String(value);
}

/**
 * An audit entry's change for people: `field: old → new`, or `field: value` for an action's facts.
 * @param {Record<string, unknown> | null | undefined} change @param {Map<string, string>} [teamNames]
 */
export function changeText(change, teamNames) {
  return Object.entries(change || {}).map(([name, value]) =>
    value && typeof value === "object" && !Array.isArray(value) && "old" in value && "new" in value
      ? `${name}: ${auditValue(name, value.old, teamNames)} → ${auditValue(name, value.new, teamNames)}`
      : `${name}: ${auditValue(name, value, teamNames)}`).join("; ");
}

/** Paging through a list whose API answers the next page's cursor (`X-Next-Cursor`): the cursor of each page
 * seen so far (the first page has none), so Previous goes back without the API keeping any state.
 * @typedef {{ cursors: (string | null | undefined)[], page: number }} Pages */

/** The first page of a list, as a new filter or search starts it.
 * @returns {Pages} */
export function firstPage() {
  return { cursors: [null], page: 0 };
}

/** The query of the current page's request: the filters that have a value, the page size, the cursor.
 * @param {Pages} pages
 * @param {Record<string, string>} filters
 * @param {number} limit
 * @returns {URLSearchParams} */
export function pageQuery(pages, filters, limit) {
  const query = new URLSearchParams({ limit: String(limit) });
  for (const [name, value] of Object.entries(filters)) if (value) query.set(name, value);
  const cursor = pages.cursors[pages.page];
  if (cursor) query.set("cursor", cursor);
  return query;
}

/** What the list offers once the current page was answered with `next` (the next page's cursor, if any).
 * @param {Pages} pages
 * @param {string | null | undefined} next
 * @returns {{ pages: Pages, hasPrevious: boolean, hasNext: boolean, label: string }} */
export function pageAnswered(pages, next) {
  const cursors = [...pages.cursors.slice(0, pages.page + 1), next];
  return { pages: { cursors, page: pages.page }, hasPrevious: pages.page > 0, hasNext: Boolean(next), label: `Page ${pages.page + 1}` };
}

/** The previous (`step` -1) or next (1) page: not before the first, and on only to a page whose cursor an
 * answer gave (none after the last page).
 * @param {Pages} pages
 * @param {-1 | 1} step
 * @returns {Pages} */
export function turnPage(pages, step) {
  if (step > 0 && !pages.cursors[pages.page + 1]) return pages;
  return { cursors: pages.cursors, page: Math.max(pages.page + step, 0) };
}
