//! People, organizations and links made through the API (or, for links, seeded in the table).

use crate::answers::{SentInvites, Token};
use crate::{
    Auth, HOME_ORGANIZATION, Member, Owner, PASSWORD, SUPER_USER, TestEnv, TestResponse, confirmation_token,
    invite_token, link_token, mails_to, organization_name, signup_form, text, unique_suffix,
};
use accounts::declared_actions::unchecked;
use serde_json::{Value, json};

impl TestEnv {
    /// Signs up a new organization with its owner and logs the owner in.
    pub async fn create_organization(&self, organization_name: &str) -> Owner {
        self.create_organization_for_email_named(&format!("owner-{}@example.org", unique_suffix()), organization_name)
            .await
    }

    /// Signs up a new organization whose owner has the address `email`, logged in.
    pub async fn create_organization_for_email(&self, email: &str) -> Owner {
        self.create_organization_for_email_named(email, &organization_name("Lab")).await
    }

    async fn create_organization_for_email_named(&self, email: &str, organization_name: &str) -> Owner {
        let email = email.to_owned();
        let created =
            self.client(&Auth::None).create_organization_with_admin(signup_form(&email, organization_name)).await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let session = self.login(&email, PASSWORD).await;
        Owner {
            email,
            organization: created.body["organization"]["id"].as_str().unwrap().to_owned(),
            user_id: created.body["user"]["id"].as_str().unwrap().to_owned(),
            session,
        }
    }

    /// Creates the organization people may register into, with its owner.
    pub async fn create_home_organization(&self) -> Owner {
        self.home_organization_for(&format!("owner-{}@example.org", unique_suffix())).await
    }

    /// The organization people may register into (named "Home Lab"), owned by a new account of `email`
    /// with [`PASSWORD`], logged in. Its id is reserved by the configuration, so the public sign-up refuses
    /// it: it is provisioned as a deployment does, with the store's creation (the same items and
    /// transaction as a sign-up).
    pub async fn home_organization_for(&self, email: &str) -> Owner {
        let new = accounts::store::accounts::NewOrganizationWithOwner {
            organization_id: HOME_ORGANIZATION.into(),
            organization_name: "Home Lab".into(),
            email: email.to_owned(),
            password_hash: accounts::password::hash(self.app.config.password_hashing, PASSWORD).await.unwrap(),
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
        };
        let auditor = accounts::domain::audit::Auditor::system(&self.app, "provisioning");
        let audit = |organization: &accounts::model::Organization, owner: Option<&accounts::model::User>| {
            let mut targets = vec![accounts::model::AuditTarget::organization(organization)];
            targets.extend(owner.map(accounts::model::AuditTarget::user));
            vec![auditor.entry(&organization.id, "organization.created", targets, json!({}))]
        };
        let (_, owner) = unchecked(accounts::store::accounts::create_organization_with_owner(
            &self.app.db,
            new,
            accounts::ids::now_millis(),
            &audit,
        ))
        .await
        .unwrap();
        let session = self.login(email, PASSWORD).await;
        Owner { email: email.to_owned(), organization: HOME_ORGANIZATION.into(), user_id: owner.id, session }
    }

    /// Registers a user into the home organization (deactivated unless auto-verify is on).
    pub async fn register(&self, first_name: &str, last_name: &str) -> (String, Value) {
        let email = format!("{}-{}@example.org", first_name.to_lowercase(), unique_suffix());
        let mut form = signup_form(&email, "ignored");
        form["firstName"] = json!(first_name);
        form["lastName"] = json!(last_name);
        let response = self.client(&Auth::None).register(form).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        (email, response.body)
    }

    /// A registered, activated and logged-in member of the home organization, in `teams`
    /// (team id, is team manager) besides the Default team.
    pub async fn member(&self, owner: &Owner, first_name: &str, last_name: &str, teams: &[(&str, bool)]) -> Member {
        let (email, user) = self.register(first_name, last_name).await;
        let user_id = user["id"].as_str().unwrap().to_owned();
        let mut memberships: Vec<Value> = user["teams"].as_array().unwrap().clone();
        memberships.extend(teams.iter().map(|(id, manager)| json!({"id": id, "isTeamManager": manager})));
        let patch = json!({"isActive": true, "teams": memberships});
        let activated = self.client(&owner.auth()).update_user(&user_id, patch).await;
        assert_eq!(activated.status, 200, "{:?}", activated.body);
        let session = self.login(&email, PASSWORD).await;
        Member { email, user_id, session }
    }

    /// The account id of `email`, read from its e-mail guard.
    pub async fn account_id(&self, email: &str) -> String {
        let guard = self
            .scan()
            .await
            .into_iter()
            .find(|i| text(i, "PK") == format!("EMAIL#{email}"))
            .expect("the address has an account");
        text(&guard, "accountId")
    }

    /// Proves `email` as its owner would: asks for a verification link (as `auth`, a session of it), and
    /// follows the newest link mailed to it for this table's account.
    pub async fn verify_email(&self, email: &str, auth: &Auth) {
        let asked = self.client(auth).request_verification().await;
        assert_eq!(asked.status, 200, "{:?}", asked.body);
        let key = link_token(email, "/verifyEmail/", &self.account_id(email).await)
            .await
            .expect("the verification mail arrived");
        let verified = self.client(auth).verify_email(&key, json!({})).await;
        assert_eq!(verified.status, 200, "{:?}", verified.body);
    }

    /// Stores a password reset for the account of `email` directly (as `startResetPassword` would, without
    /// its mail and throttle) and returns its token.
    pub async fn seed_password_reset(&self, email: &str) -> String {
        self.seed_password_reset_for(&self.account_id(email).await, email).await
    }

    /// [`TestEnv::seed_password_reset`] for a known account id.
    pub async fn seed_password_reset_for(&self, account_id: &str, email: &str) -> String {
        let account_id = account_id.to_owned();
        let token = format!("{account_id}.{}", accounts::ids::new_secret().repeat(2).get(..43).unwrap());
        let now = accounts::ids::now_millis();
        let reset = accounts::model::PasswordReset {
            account_id,
            token_hash: accounts::ids::sha256_hex(&token),
            email: email.to_owned(),
            valid_until: now + 3_600_000,
            created: now,
        };
        unchecked(accounts::store::accounts::put_link(&self.app.db, &reset)).await.unwrap();
        token
    }

    /// Stores an e-mail verification link for the account of `email` directly and returns its key.
    pub async fn seed_email_verification(&self, email: &str) -> String {
        let account_id = self.account_id(email).await;
        let key = format!("{account_id}.{}", accounts::ids::new_secret().repeat(2).get(..43).unwrap());
        let now = accounts::ids::now_millis();
        let verification = accounts::model::EmailVerification {
            account_id,
            key_hash: accounts::ids::sha256_hex(&key),
            email: email.to_owned(),
            valid_until: now + 3_600_000,
            used_at: None,
            created: now,
        };
        unchecked(accounts::store::accounts::put_link(&self.app.db, &verification)).await.unwrap();
        key
    }

    /// `host` invites `email` (active at once), who registers by the invite's link with [`PASSWORD`]:
    /// answers the new user's id.
    pub async fn invited_member(&self, host: &Owner, email: &str) -> String {
        let recipients = json!({"recipients": [email], "autoActivate": true});
        let sent = self.client(&host.auth()).send_invites(recipients).await;
        assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
        let mut form = signup_form(email, "ignored");
        form["inviteToken"] = json!(invite_token(&mails_to(email).await.pop().unwrap()));
        let registered = self.client(&Auth::None).register(form).await;
        assert_eq!(registered.status, 200, "{:?}", registered.body);
        registered.body["id"].as_str().unwrap().to_owned()
    }

    /// A new active member (not an admin) of the organization of `host`, logged in.
    pub async fn member_of(&self, host: &Owner) -> Auth {
        let email = format!("member-{}@example.org", unique_suffix());
        self.invited_member(host, &email).await;
        Auth::Bearer(self.login(&email, PASSWORD).await)
    }

    /// `host` invites `email`, whose account (signed in as `guest`) joins the host's organization by the link.
    pub async fn join_by_invite(&self, host: &Owner, email: &str, guest: &Auth) {
        let recipients = json!({"recipients": [email], "autoActivate": true});
        let sent = self.client(&host.auth()).send_invites(recipients).await;
        assert_eq!(sent.json::<SentInvites>().recipients[0].status, "invited", "{:?}", sent.body);
        let token = invite_token(&mails_to(email).await.pop().unwrap());
        let joined = self.client(guest).join_organization(&token).await;
        assert_eq!(joined.status, 200, "{:?}", joined.body);
    }

    /// Names `address` in the organization's `newUserMailingList` (as `auth`, an admin of `organization`) and
    /// returns the token of the confirmation link mailed there.
    pub async fn notification_token(&self, auth: &Auth, organization: &str, address: &str) -> String {
        let patch = json!({ "newUserMailingList": address });
        let changed = self.client(auth).update_organization(organization, patch).await;
        assert_eq!(changed.status, 200, "{:?}", changed.body);
        confirmation_token(address).await.expect("the confirmation mail")
    }

    /// Confirms the notices to `address` as its mailbox would (the token from [`TestEnv::notification_token`]).
    pub async fn confirm_notifications(&self, token: &str) {
        let confirmed = self.client(&Auth::None).confirm_notification_address(token).await;
        assert_eq!(confirmed.status, 200, "{:?}", confirmed.body);
    }

    /// Grants the operator role to the account of `email` (verified), as the `grant-operator` command does.
    pub async fn grant_operator(&self, email: &str) {
        let grantor = accounts::domain::operators::Grantor::Command;
        unchecked(accounts::domain::operators::grant(&self.app, grantor, email)).await.expect("granted");
    }

    /// The instance operator ([`SUPER_USER`], with a verified address and the role granted, owner of an
    /// organization of its own), logged in.
    pub async fn operator(&self) -> Owner {
        let created = self
            .client(&Auth::None)
            .create_organization_with_admin(signup_form(SUPER_USER, &organization_name("Operators")))
            .await;
        assert_eq!(created.status, 200, "{:?}", created.body);
        let session = self.login(SUPER_USER, PASSWORD).await;
        let auth = Auth::Bearer(session.clone());
        self.verify_email(SUPER_USER, &auth).await;
        self.grant_operator(SUPER_USER).await;
        Owner {
            email: SUPER_USER.into(),
            organization: created.body["organization"]["id"].as_str().unwrap().to_owned(),
            user_id: created.body["user"]["id"].as_str().unwrap().to_owned(),
            session,
        }
    }

    /// Accepts the deletion of `organization` as its request would (the store's marking, with its audit
    /// entry by a test job), without running the purge.
    pub async fn mark_deletion_requested(&self, organization: &str) {
        let target =
            accounts::model::AuditTarget { kind: "organization".into(), id: organization.into(), name: String::new() };
        let entry = accounts::domain::audit::Auditor::system(&self.app, "test").entry(
            organization,
            "organization.deletionRequested",
            vec![target],
            json!({}),
        );
        let store = accounts::store::org::OrgStore::for_internal_service(&self.app.db, organization);
        let marked = unchecked(store.mark_deleting(accounts::ids::now_millis(), &entry)).await.unwrap();
        assert!(marked, "not being deleted before");
    }

    /// Creates a team as `admin` and returns its id.
    pub async fn team(&self, admin: &Auth, name: &str) -> String {
        let response = self.client(admin).create_team(name).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn patch_user(&self, user_id: &str, body: Value, auth: &Auth) -> TestResponse {
        self.client(auth).update_user(user_id, body).await
    }

    /// Logs in and returns the session token.
    pub async fn login(&self, email: &str, password: &str) -> String {
        let response = self.client(&Auth::None).login(email, password).await;
        assert_eq!(response.status, 200, "{:?}", response.body);
        response.json::<Token>().token
    }
}
