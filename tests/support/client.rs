//! The API as a client calls it: one method per route of the route table, as one caller
//! (`env.client(&owner.auth())`), so a test reads like what a person does. Each answer is the raw
//! [`TestResponse`] (status, headers, error code), and [`TestResponse::json`] reads it as the route's
//! typed answer (`crate::answers`). Tests of malformed requests keep using `TestEnv::request_raw` and
//! friends, since no well-behaved client sends those.

use serde_json::{Value, json};

use crate::{Auth, TestEnv, TestResponse};

/// One caller's client of a [`TestEnv`]'s API (cheap: made per call, each call's future owns it).
pub struct ApiClient<'a> {
    env: &'a TestEnv,
    auth: Auth,
}

impl TestEnv {
    /// The API as the caller `auth` (`&Auth::None` for the public routes).
    pub fn client(&self, auth: &Auth) -> ApiClient<'_> {
        ApiClient { env: self, auth: auth.clone() }
    }
}

/// `?query` when there is one (a query is given without its `?`, e.g. `"isActive=true"`).
fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() { path.to_owned() } else { format!("{path}?{query}") }
}

impl ApiClient<'_> {
    async fn get(&self, path: &str) -> TestResponse {
        self.env.get(&format!("/api{path}"), &self.auth).await
    }
    async fn post(&self, path: &str, body: Value) -> TestResponse {
        self.env.post(&format!("/api{path}"), body, &self.auth).await
    }
    async fn patch(&self, path: &str, body: Value) -> TestResponse {
        self.env.request("PATCH", &format!("/api{path}"), Some(body), &self.auth).await
    }
    async fn delete(&self, path: &str) -> TestResponse {
        self.env.request("DELETE", &format!("/api{path}"), None, &self.auth).await
    }
    async fn put(&self, path: &str, body: Value) -> TestResponse {
        self.env.request("PUT", &format!("/api{path}"), Some(body), &self.auth).await
    }

    // Sign-up, login and sessions.

    /// `GET /api/buildinfo`
    pub async fn buildinfo(self) -> TestResponse {
        self.get("/buildinfo").await
    }
    /// `POST /api/auth/createOrganizationWithAdmin` with a sign-up form (`tests::signup_form`).
    pub async fn create_organization_with_admin(self, form: Value) -> TestResponse {
        self.post("/auth/createOrganizationWithAdmin", form).await
    }
    /// `POST /api/auth/register` with a sign-up form (`tests::signup_form`, an invite's `inviteToken`).
    pub async fn register(self, form: Value) -> TestResponse {
        self.post("/auth/register", form).await
    }
    /// `POST /api/auth/login`
    pub async fn login(self, email: &str, password: &str) -> TestResponse {
        self.post("/auth/login", json!({ "email": email, "password": password })).await
    }
    /// `GET /api/auth/token`: the caller's personal API token.
    pub async fn token(self) -> TestResponse {
        self.get("/auth/token").await
    }
    /// `DELETE /api/auth/token`
    pub async fn revoke_token(self) -> TestResponse {
        self.delete("/auth/token").await
    }
    /// `POST /api/auth/logout`
    pub async fn logout(self) -> TestResponse {
        self.post("/auth/logout", json!({})).await
    }
    /// `POST /api/auth/logoutEverywhere`
    pub async fn logout_everywhere(self) -> TestResponse {
        self.post("/auth/logoutEverywhere", json!({})).await
    }
    /// `POST /api/auth/switchOrganization/{id}`
    pub async fn switch_organization(self, organization: &str) -> TestResponse {
        self.post(&format!("/auth/switchOrganization/{organization}"), json!({})).await
    }
    /// `POST /api/organizations/{id}/leave`
    pub async fn leave_organization(self, organization: &str) -> TestResponse {
        self.post(&format!("/organizations/{organization}/leave"), json!({})).await
    }
    /// `POST /api/organizations/{id}/transferOwnership` (the owner)
    pub async fn transfer_ownership(self, organization: &str, user_id: &str) -> TestResponse {
        self.post(&format!("/organizations/{organization}/transferOwnership"), json!({ "userId": user_id })).await
    }
    /// `POST /api/organizations/{id}/transferOwnership/{token}`
    pub async fn accept_ownership(self, organization: &str, token: &str) -> TestResponse {
        self.post(&format!("/organizations/{organization}/transferOwnership/{token}"), json!({})).await
    }

    /// `GET /api/auth/oidc/login`: starts a sign-in with the instance's OpenID provider.
    pub async fn oidc_login(self) -> TestResponse {
        self.get("/auth/oidc/login").await
    }
    /// `GET /api/auth/oidc/login?link=true`: the caller starts linking the provider to its account.
    pub async fn link_provider(self) -> TestResponse {
        self.get("/auth/oidc/login?link=true").await
    }
    /// `GET /api/auth/oidc/login?{query}` (`email=` or `organization=`, and `link=true`).
    pub async fn oidc_login_with(self, query: &str) -> TestResponse {
        self.get(&with_query("/auth/oidc/login", query)).await
    }
    /// `GET /api/auth/oidc/links`: the caller's account's links.
    pub async fn provider_links(self) -> TestResponse {
        self.get("/auth/oidc/links").await
    }
    /// `DELETE /api/auth/oidc/links/{id}`
    pub async fn unlink_provider(self, link: &str) -> TestResponse {
        self.delete(&format!("/auth/oidc/links/{link}")).await
    }
    /// `POST /api/auth/webauthn/register/start`: creation options for a new passkey.
    pub async fn passkey_register_start(self) -> TestResponse {
        self.post("/auth/webauthn/register/start", json!({})).await
    }
    /// `POST /api/auth/webauthn/register/finalize` with the authenticator's answer `key`.
    pub async fn passkey_register_finalize(self, name: &str, key: Value) -> TestResponse {
        self.post("/auth/webauthn/register/finalize", json!({ "name": name, "key": key })).await
    }
    /// `POST /api/auth/webauthn/auth/start`: request options for a sign-in with a passkey.
    pub async fn passkey_auth_start(self) -> TestResponse {
        self.post("/auth/webauthn/auth/start", json!({})).await
    }
    /// `POST /api/auth/webauthn/auth/finalize` with the authenticator's answer `key`.
    pub async fn passkey_auth_finalize(self, key: Value) -> TestResponse {
        self.post("/auth/webauthn/auth/finalize", json!({ "key": key })).await
    }
    /// `GET /api/auth/webauthn/keys`: the caller's passkeys.
    pub async fn passkeys(self) -> TestResponse {
        self.get("/auth/webauthn/keys").await
    }
    /// `PATCH /api/auth/webauthn/keys/{id}` with a new name.
    pub async fn rename_passkey(self, id: &str, name: &str) -> TestResponse {
        self.patch(&format!("/auth/webauthn/keys/{id}"), json!({ "name": name })).await
    }
    /// `DELETE /api/auth/webauthn/keys/{id}`
    pub async fn remove_passkey(self, id: &str) -> TestResponse {
        self.delete(&format!("/auth/webauthn/keys/{id}")).await
    }
    /// `GET /api/organizations/{id}/sso`: its connection and domains.
    pub async fn sso_settings(self, organization: &str) -> TestResponse {
        self.get(&format!("/organizations/{organization}/sso")).await
    }
    /// `PUT /api/organizations/{id}/sso`
    pub async fn put_sso_connection(self, organization: &str, connection: Value) -> TestResponse {
        self.put(&format!("/organizations/{organization}/sso"), connection).await
    }
    /// `DELETE /api/organizations/{id}/sso`
    pub async fn delete_sso_connection(self, organization: &str) -> TestResponse {
        self.delete(&format!("/organizations/{organization}/sso")).await
    }
    /// `POST /api/organizations/{id}/domains`
    pub async fn claim_domain(self, organization: &str, domain: &str) -> TestResponse {
        self.post(&format!("/organizations/{organization}/domains"), json!({ "domain": domain })).await
    }
    /// `POST /api/organizations/{id}/domains/{domain}/verify`
    pub async fn verify_domain(self, organization: &str, domain: &str) -> TestResponse {
        self.post(&format!("/organizations/{organization}/domains/{domain}/verify"), json!({})).await
    }
    /// `PATCH /api/organizations/{id}/domains/{domain}` with `{"requireSso"}`.
    pub async fn require_sso(self, organization: &str, domain: &str, require: bool) -> TestResponse {
        self.patch(&format!("/organizations/{organization}/domains/{domain}"), json!({ "requireSso": require })).await
    }
    /// `DELETE /api/organizations/{id}/domains/{domain}`
    pub async fn remove_domain(self, organization: &str, domain: &str) -> TestResponse {
        self.delete(&format!("/organizations/{organization}/domains/{domain}")).await
    }
    /// `GET /api/auth/oidc/callback?{query}` without the browser's state cookie (a forged or foreign
    /// callback); `TestEnv::finish_sign_in` comes back with it.
    pub async fn oidc_callback(self, query: &str) -> TestResponse {
        self.get(&with_query("/auth/oidc/callback", query)).await
    }

    // Passwords and addresses.

    /// `POST /api/auth/startResetPassword`
    pub async fn start_reset_password(self, email: &str) -> TestResponse {
        self.post("/auth/startResetPassword", json!({ "email": email })).await
    }
    /// `POST /api/auth/resetPassword` with the mailed token and a new password (given twice).
    pub async fn reset_password(self, token: &str, password: &str) -> TestResponse {
        let body = json!({ "token": token, "password": { "password1": password, "password2": password } });
        self.post("/auth/resetPassword", body).await
    }
    /// `POST /api/auth/changePassword`
    pub async fn change_password(self, old: &str, new: &str) -> TestResponse {
        let body = json!({ "oldPassword": old, "password": { "password1": new, "password2": new } });
        self.post("/auth/changePassword", body).await
    }
    /// `POST /api/verifyEmail/{key}` (`body`: `{}` signed in, or `{"password": ...}`).
    pub async fn verify_email(self, key: &str, body: Value) -> TestResponse {
        self.post(&format!("/verifyEmail/{key}"), body).await
    }
    /// `POST /api/verifyEmail`: mail the caller a new verification link.
    pub async fn request_verification(self) -> TestResponse {
        self.post("/verifyEmail", json!({})).await
    }
    /// `POST /api/notificationAddresses/{token}`
    pub async fn confirm_notification_address(self, token: &str) -> TestResponse {
        self.post(&format!("/notificationAddresses/{token}"), json!({})).await
    }

    // Invites.

    /// `POST /api/auth/sendInvites` with a request (`{"recipients": [...], "autoActivate": ..., ...}`).
    pub async fn send_invites(self, request: Value) -> TestResponse {
        self.post("/auth/sendInvites", request).await
    }
    /// `GET /api/organizations/byInvite/{token}`
    pub async fn organization_by_invite(self, token: &str) -> TestResponse {
        self.get(&format!("/organizations/byInvite/{token}")).await
    }
    /// `POST /api/auth/joinOrganization/{token}`
    pub async fn join_organization(self, token: &str) -> TestResponse {
        self.post(&format!("/auth/joinOrganization/{token}"), json!({})).await
    }
    /// `GET /api/invites?{query}`
    pub async fn invites(self, query: &str) -> TestResponse {
        self.get(&with_query("/invites", query)).await
    }
    /// `DELETE /api/invites/{id}`
    pub async fn revoke_invite(self, invite: &str) -> TestResponse {
        self.delete(&format!("/invites/{invite}")).await
    }
    /// `POST /api/invites/{id}/resend`
    pub async fn resend_invite(self, invite: &str) -> TestResponse {
        self.post(&format!("/invites/{invite}/resend"), json!({})).await
    }

    // Organizations.

    /// `GET /api/organizations/{id}`
    pub async fn organization(self, organization: &str) -> TestResponse {
        self.get(&format!("/organizations/{organization}")).await
    }
    /// `PATCH /api/organizations/{id}`
    pub async fn update_organization(self, organization: &str, patch: Value) -> TestResponse {
        self.patch(&format!("/organizations/{organization}"), patch).await
    }
    /// `GET /api/organizations`: where the caller's account is a member.
    pub async fn organizations(self) -> TestResponse {
        self.get("/organizations").await
    }
    /// `DELETE /api/organizations/{id}`, confirmed by its name (as the page sends it).
    pub async fn delete_organization(self, organization: &str, confirmation: &str) -> TestResponse {
        let path = format!("/api/organizations/{organization}");
        self.env.request("DELETE", &path, Some(json!({ "confirmation": confirmation })), &self.auth).await
    }
    /// `POST /api/organizations` (operators).
    pub async fn create_organization(self, request: Value) -> TestResponse {
        self.post("/organizations", request).await
    }
    /// `PATCH /api/organizations/{id}/plan` (operators).
    pub async fn change_plan(self, organization: &str, plan: Value) -> TestResponse {
        self.patch(&format!("/organizations/{organization}/plan"), plan).await
    }
    /// `POST /api/organizations/{id}/credits` (operators).
    pub async fn add_credits(self, organization: &str, milli_credits: i64, comment: &str) -> TestResponse {
        let body = json!({ "milliCredits": milli_credits, "comment": comment });
        self.post(&format!("/organizations/{organization}/credits"), body).await
    }
    /// `GET /api/creditTransactions?{query}`
    pub async fn credit_transactions(self, query: &str) -> TestResponse {
        self.get(&with_query("/creditTransactions", query)).await
    }
    /// `POST /api/operators` (operators).
    pub async fn grant_operator(self, email: &str) -> TestResponse {
        self.post("/operators", json!({ "email": email })).await
    }

    // Pricing.

    /// `GET /api/pricing/status`
    pub async fn pricing_status(self) -> TestResponse {
        self.get("/pricing/status").await
    }
    /// `POST /api/pricing/{kind}?{query}`: `kind` one of `requestExtension`, `requestUpgrade`,
    /// `requestUsers`, `requestStorage`, `requestCredits`.
    pub async fn request_plan_change(self, kind: &str, query: &str) -> TestResponse {
        self.post(&with_query(&format!("/pricing/{kind}"), query), json!({})).await
    }
    /// `GET /api/pricing/requests`
    pub async fn plan_requests(self) -> TestResponse {
        self.get("/pricing/requests").await
    }
    /// `GET /api/pricing/planUpdates`
    pub async fn plan_updates(self) -> TestResponse {
        self.get("/pricing/planUpdates").await
    }

    // Users.

    /// `GET /api/user`: the caller.
    pub async fn current_user(self) -> TestResponse {
        self.get("/user").await
    }
    /// `GET /api/users?{query}`
    pub async fn users(self, query: &str) -> TestResponse {
        self.get(&with_query("/users", query)).await
    }
    /// `GET /api/users/{id}`
    pub async fn user(self, user: &str) -> TestResponse {
        self.get(&format!("/users/{user}")).await
    }
    /// `PATCH /api/users/{id}`
    pub async fn update_user(self, user: &str, patch: Value) -> TestResponse {
        self.patch(&format!("/users/{user}"), patch).await
    }
    /// `PATCH /api/users/teamsAndPermissions`
    pub async fn bulk_edit_teams_and_permissions(self, request: Value) -> TestResponse {
        self.patch("/users/teamsAndPermissions", request).await
    }
    /// `PATCH /api/users/experiences`
    pub async fn bulk_change_experiences(self, request: Value) -> TestResponse {
        self.patch("/users/experiences", request).await
    }
    /// `GET /api/users/byExperience?{query}`
    pub async fn users_by_experience(self, query: &str) -> TestResponse {
        self.get(&with_query("/users/byExperience", query)).await
    }
    /// `GET /api/tasks/experienceDomains`
    pub async fn experience_domains(self) -> TestResponse {
        self.get("/tasks/experienceDomains").await
    }

    // Teams.

    /// `GET /api/teams?{query}`
    pub async fn teams(self, query: &str) -> TestResponse {
        self.get(&with_query("/teams", query)).await
    }
    /// `POST /api/teams`
    pub async fn create_team(self, name: &str) -> TestResponse {
        self.post("/teams", json!({ "name": name })).await
    }
    /// `DELETE /api/teams/{id}`
    pub async fn delete_team(self, team: &str) -> TestResponse {
        self.delete(&format!("/teams/{team}")).await
    }
    /// `GET /api/teams/{id}/users?{query}`
    pub async fn team_members(self, team: &str, query: &str) -> TestResponse {
        self.get(&with_query(&format!("/teams/{team}/users"), query)).await
    }

    // Audit.

    /// `GET /api/auditLog?{query}`
    pub async fn audit_log(self, query: &str) -> TestResponse {
        self.get(&with_query("/auditLog", query)).await
    }
}
