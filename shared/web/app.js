// @ts-check
// The pages of the accounts service: native ES modules, no framework, no build step (docs/web.md). The JSON
// API is their only interface; every text that comes from it or from a person is put into the page as text
// (textContent), never as HTML. The session is the HttpOnly cookie the login sets; requests that change
// something are sent as JSON from this origin, which the API requires of cookie-authenticated requests.
// This module routes an address to its page; the web function serves each module under its
// content-hashed name and rewrites the imports to those names.
import { h, link, setRouter, show } from "./dom.js";
import { confirmNotificationsPage, invitePage, loginPage, registerPage, resetFinishPage, resetRequestPage, signupPage, verifyPage } from "./auth.js";
import { homePage } from "./home.js";
import { usersPage } from "./users.js";
import { invitesPage } from "./invites.js";
import { teamsPage } from "./teams.js";
import { acceptOwnershipPage, organizationPage } from "./organization.js";
import { auditPage } from "./audit.js";

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
  if (first === "acceptOwnership" && second && rest.length === 1 && rest[0]) return acceptOwnershipPage(decodeURIComponent(second), decodeURIComponent(rest[0]));
  show(notFoundPage());
}

setRouter(route);
window.addEventListener("popstate", route);
route();
