//! An organization's single sign-on: its own connection and its domains. Every write carries its audit
//! entry in the same transaction; a domain's verification and its instance-wide record are written
//! together, the record's key making a domain one organization's only.

use super::OrgStore;
use crate::model::{AuditEntry, DomainClaim, Key, SSO_PREFIX, SsoConnection, VerifiedDomain};
use crate::{StoreError, TransactError, from_item, n, s};

/// Why a domain could not be claimed or verified.
#[derive(Debug)]
pub enum DomainWriteError {
    /// The organization has a claim for it already.
    Claimed,
    /// Another organization verified it.
    Taken,
    /// The claim is gone (removed meanwhile), or (verifying) verified already.
    Gone,
    Store(StoreError),
}

impl From<StoreError> for DomainWriteError {
    fn from(err: StoreError) -> Self {
        DomainWriteError::Store(err)
    }
}

impl OrgStore<'_> {
    /// The organization's connection and its domains, in one Query.
    pub async fn sso_items(&self) -> Result<(Option<SsoConnection>, Vec<DomainClaim>), StoreError> {
        let mut connection = None;
        let mut domains = Vec::new();
        for item in self.query_all(SSO_PREFIX).await? {
            match item.get("entity").and_then(|entity| entity.as_s().ok()).map(String::as_str) {
                Some("SsoConnection") => connection = Some(from_item(item)?),
                Some("DomainClaim") => domains.push(from_item(item)?),
                _ => {}
            }
        }
        domains.sort_by(|a: &DomainClaim, b| a.domain.cmp(&b.domain));
        Ok((connection, domains))
    }

    /// The organization's connection (one GetItem).
    pub async fn sso_connection(&self) -> Result<Option<SsoConnection>, StoreError> {
        self.db().get(&Key::sso_connection(self.organization_id())).await
    }

    /// Writes the connection (new or replacing the one there) with its audit entry.
    pub async fn put_sso_connection(&self, connection: &SsoConnection, entry: &AuditEntry) -> Result<(), StoreError> {
        debug_assert_eq!(connection.organization, self.organization_id());
        self.db().transact(vec![self.db().put(connection), self.db().put_new(entry)]).await?;
        Ok(())
    }

    /// Removes the connection with its audit entry: `false` when there was none.
    pub async fn delete_sso_connection(&self, entry: &AuditEntry) -> Result<bool, StoreError> {
        let delete = self.db().delete(&Key::sso_connection(self.organization_id()), Some("attribute_exists(PK)"));
        self.db().transact_if(vec![delete, self.db().put_new(entry)]).await
    }

    /// A new, pending claim with its audit entry; refused when the organization claimed the domain already
    /// or another organization verified it.
    pub async fn claim_domain(&self, claim: &DomainClaim, entry: &AuditEntry) -> Result<(), DomainWriteError> {
        let db = self.db();
        let items = vec![
            db.put_new(claim),
            db.condition_check(&Key::verified_domain(&claim.domain), "attribute_not_exists(PK)", Vec::new()),
            db.put_new(entry),
        ];
        match db.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::ConditionFailed { failed }) if failed[0] => Err(DomainWriteError::Claimed),
            Err(TransactError::ConditionFailed { .. }) => Err(DomainWriteError::Taken),
            Err(TransactError::Store(err)) => Err(err.into()),
        }
    }

    /// Marks a pending claim verified at `now` and records the domain as this organization's, with the
    /// audit entry, in one transaction.
    pub async fn verify_domain(
        &self,
        claim: &DomainClaim,
        now: i64,
        entry: &AuditEntry,
    ) -> Result<(), DomainWriteError> {
        let db = self.db();
        let verified = VerifiedDomain {
            domain: claim.domain.clone(),
            organization: self.organization_id().to_owned(),
            require_sso: claim.require_sso,
        };
        let items = vec![
            db.update(
                &Key::domain_claim(self.organization_id(), &claim.domain),
                "SET verifiedAt = :now",
                Some("attribute_exists(PK) AND attribute_not_exists(verifiedAt)"),
                &[],
                vec![(":now", n(now))],
            ),
            db.put_new(&verified),
            db.put_new(entry),
        ];
        match db.transact(items).await {
            Ok(()) => Ok(()),
            Err(TransactError::ConditionFailed { failed }) if failed[0] => Err(DomainWriteError::Gone),
            Err(TransactError::ConditionFailed { .. }) => Err(DomainWriteError::Taken),
            Err(TransactError::Store(err)) => Err(err.into()),
        }
    }

    /// Sets whether a verified domain requires single sign-on, on the claim and the instance-wide record
    /// together, with the audit entry: `false` when the domain is not (or no longer) verified here.
    pub async fn set_domain_requires_sso(
        &self,
        domain: &str,
        require: bool,
        entry: &AuditEntry,
    ) -> Result<bool, StoreError> {
        let db = self.db();
        let value = || vec![(":require", aws_sdk_dynamodb::types::AttributeValue::Bool(require))];
        let mut record_values = value();
        record_values.push((":organization", s(self.organization_id())));
        let items = vec![
            db.update(
                &Key::domain_claim(self.organization_id(), domain),
                "SET requireSso = :require",
                Some("attribute_exists(verifiedAt)"),
                &[],
                value(),
            ),
            db.update(
                &Key::verified_domain(domain),
                "SET requireSso = :require",
                Some("organization = :organization"),
                &[],
                record_values,
            ),
            db.put_new(entry),
        ];
        db.transact_if(items).await
    }

    /// Removes a claim, and the domain's instance-wide record when it was verified here, with the audit
    /// entry: `false` when the claim was gone.
    pub async fn remove_domain(&self, claim: &DomainClaim, entry: &AuditEntry) -> Result<bool, StoreError> {
        let db = self.db();
        let mut items =
            vec![db.delete(&Key::domain_claim(self.organization_id(), &claim.domain), Some("attribute_exists(PK)"))];
        if claim.verified_at.is_some() {
            items.push(db.delete_with_values(
                &Key::verified_domain(&claim.domain),
                Some("organization = :organization"),
                vec![(":organization", s(self.organization_id()))],
            ));
        }
        items.push(db.put_new(entry));
        db.transact_if(items).await
    }

    /// Removes the instance-wide record of a domain this organization verified (a purge; nothing when
    /// the record is gone or another organization's).
    pub async fn release_verified_domain(&self, domain: &str) -> Result<(), StoreError> {
        self.db()
            .delete_if(
                &Key::verified_domain(domain),
                "organization = :organization",
                vec![(":organization", s(self.organization_id()))],
            )
            .await?;
        Ok(())
    }
}
