// Unit tests of the pages' pure rules: `node --test shared/web/` (the README's test command runs it).
import assert from "node:assert/strict";
import { test } from "node:test";
import { auditValue, changeText, experienceText, experienceValues, firstPage, pageAnswered, pageQuery, plural, rightChange, teamChanges, teamStates, turnPage, waitingForActivation } from "./rules.js";

const user = (id, teams = [], experiences = {}, lastActivity = 1, created = 1) => ({ id, teams, experiences, lastActivity, created });

test("a selection's state in each team: none, all as member or manager, or mixed", () => {
  const users = [
    user("a", [{ id: "beta", isTeamManager: true }, { id: "gamma", isTeamManager: false }]),
    user("b", [{ id: "gamma", isTeamManager: false }]),
  ];
  const states = teamStates(users, [{ id: "alpha" }, { id: "beta" }, { id: "gamma" }]);
  assert.deepEqual([...states], [["alpha", ""], ["beta", "mixed"], ["gamma", "member"]]);
  const managers = teamStates([user("a", [{ id: "t", isTeamManager: true }])], [{ id: "t" }]);
  assert.equal(managers.get("t"), "manager");
});

test("only the teams whose choice changed are sent; mixed ones left mixed stay", () => {
  assert.deepEqual(teamChanges([{ id: "alpha", state: "", chosen: "" }, { id: "beta", state: "mixed", chosen: "mixed" }]), {});
  assert.deepEqual(teamChanges([
    { id: "alpha", state: "", chosen: "member" },
    { id: "beta", state: "mixed", chosen: "" },
    { id: "gamma", state: "member", chosen: "manager" },
    { id: "delta", state: "manager", chosen: "manager" },
  ]), { setTeams: [{ id: "alpha", isTeamManager: false }, { id: "gamma", isTeamManager: true }], removeTeams: ["beta"] });
});

test("a right is sent only when changed, and a mixed one once clicked", () => {
  assert.deepEqual(rightChange("isAdmin", { startedChecked: true, startedMixed: false, checked: true, mixed: false }), {});
  assert.deepEqual(rightChange("isAdmin", { startedChecked: true, startedMixed: false, checked: false, mixed: false }), { isAdmin: false });
  assert.deepEqual(rightChange("isAdmin", { startedChecked: false, startedMixed: true, checked: false, mixed: true }), {});
  // Clicked twice from mixed: unchecked and no longer mixed, so "none of them" is what it says.
  assert.deepEqual(rightChange("isAdmin", { startedChecked: false, startedMixed: true, checked: false, mixed: false }), { isAdmin: false });
});

test("experiences across a selection read as ranges with who has them", () => {
  const values = experienceValues([user("a", [], { nuclei: 3, mito: 2 }), user("b", [], { nuclei: 5 })]);
  assert.deepEqual([...values], [["mito", [2]], ["nuclei", [3, 5]]]);
  assert.equal(experienceText("nuclei", values.get("nuclei"), 2), "nuclei: 3–5 (all of them)");
  assert.equal(experienceText("mito", values.get("mito"), 2), "mito: 2 (1 of 2)");
  assert.equal(experienceText("mito", [4], 1), "mito: 4");
});

test("people who signed up and were never active wait for activation", () => {
  const waiting = waitingForActivation([user("new", [], {}, 10, 10), user("left", [], {}, 50, 10)]);
  assert.deepEqual(waiting.map((u) => u.id), ["new"]);
});

test("audit values read for people", () => {
  assert.equal(auditValue("teams", {}), "none");
  assert.equal(auditValue("teams", []), "none");
  assert.equal(auditValue("comment", ""), "none");
  assert.equal(auditValue("teams", [{ id: "t", name: "Optics", isTeamManager: true }, { id: "u", name: "Lab", isTeamManager: false }]), "Optics (Team Manager), Lab");
  assert.equal(auditValue("teams", { t1: true, t2: false }, new Map([["t1", "Optics"]])), "Optics (Team Manager), t2");
  assert.equal(auditValue("isAdmin", true), "yes");
  const millis = 1797616006283;
  assert.equal(auditValue("validUntil", millis), new Date(millis).toLocaleString());
  assert.equal(auditValue("milliCredits", millis), String(millis), "only times become dates");
  assert.equal(changeText({ firstName: { old: "Mia", new: "<b>Bold</b>" }, teams: { old: [], new: [{ name: "Optics", isTeamManager: false }] } }),
    "firstName: Mia → <b>Bold</b>; teams: none → Optics");
  assert.equal(plural(1, "person", "people"), "1 person");
  assert.equal(plural(2, "user"), "2 users");
});

test("paging keeps each page's cursor: Next follows the answer's, Previous goes back, a new filter starts again", () => {
  let pages = firstPage();
  assert.equal(pageQuery(pages, { isActive: "true", search: "" }, 50).toString(), "limit=50&isActive=true");
  let shown = pageAnswered(pages, "c2");
  assert.deepEqual([shown.hasPrevious, shown.hasNext, shown.label], [false, true, "Page 1"]);
  pages = turnPage(shown.pages, 1);
  assert.equal(pageQuery(pages, { search: "ada" }, 50).toString(), "limit=50&search=ada&cursor=c2");
  shown = pageAnswered(pages, null);
  assert.deepEqual([shown.hasPrevious, shown.hasNext, shown.label], [true, false, "Page 2"]);
  // Nothing after the last page; back to the first, whose request has no cursor.
  assert.equal(turnPage(shown.pages, 1).page, 1);
  pages = turnPage(shown.pages, -1);
  assert.equal(pageQuery(pages, {}, 50).toString(), "limit=50");
  // Going back and answering again forgets the pages after it (the list may have changed).
  assert.deepEqual(pageAnswered(pages, "c2b").pages.cursors, [null, "c2b"]);
  assert.equal(turnPage(firstPage(), -1).page, 0);
});
