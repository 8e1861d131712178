//! Password hashing: argon2id at the configured cost (`Config::password_hashing`: OWASP's recommended
//! parameters, 19 MiB, 2 passes, 1 lane, everywhere but in the tests).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use accounts_core::config::PasswordHashing;

use crate::error::DomainError;

fn hasher(cost: PasswordHashing) -> Result<Argon2<'static>, DomainError> {
    let params = Params::new(cost.memory_kib, cost.passes, 1, None).map_err(|e| {
        tracing::error!(error = %e, ?cost, "invalid password hashing parameters");
        DomainError::internal()
    })?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// PHC string (algorithm, parameters, salt and hash), so parameters can change later without breaking
/// stored hashes. Runs on the blocking pool: it takes tens of milliseconds of CPU by design.
pub async fn hash(cost: PasswordHashing, password: &str) -> Result<String, DomainError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        hasher(cost)?.hash_password(password.as_bytes()).map(|hash| hash.to_string()).map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            DomainError::internal()
        })
    })
    .await
    .map_err(|_| DomainError::internal())?
}

/// Whether `password` matches `phc`. With `phc == None` a hash is still computed, so a login for an
/// unknown e-mail takes as long as one for a known e-mail (hashed at `cost`, the cost of new hashes; a
/// stored hash verifies with its own parameters).
pub(crate) async fn verify(cost: PasswordHashing, password: &str, phc: Option<&str>) -> bool {
    let password = password.to_owned();
    let phc = phc.map(str::to_owned);
    tokio::task::spawn_blocking(move || {
        let Ok(hasher) = hasher(cost) else { return false };
        match phc.as_deref().map(PasswordHash::new) {
            Some(Ok(parsed)) => hasher.verify_password(password.as_bytes(), &parsed).is_ok(),
            _ => {
                let _ = hasher.hash_password(password.as_bytes());
                false
            }
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use accounts_core::config::PasswordHashing;

    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let owasp = PasswordHashing::OWASP;
        let phc = super::hash(owasp, "correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(super::verify(owasp, "correct horse battery", Some(&phc)).await);
        assert!(!super::verify(owasp, "wrong horse battery", Some(&phc)).await);
        assert!(!super::verify(owasp, "anything", None).await);
        assert!(!super::verify(owasp, "anything", Some("not a hash")).await);
        // A fresh salt every time.
        assert_ne!(phc, super::hash(owasp, "correct horse battery").await.unwrap());
    }

    #[tokio::test]
    async fn a_hash_verifies_with_its_own_parameters_whatever_the_cost_of_new_hashes() {
        let cheap = PasswordHashing { memory_kib: 64, passes: 1 };
        let phc = super::hash(cheap, "correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        assert!(super::verify(PasswordHashing::OWASP, "correct horse battery", Some(&phc)).await);
        // Parameters argon2 refuses are an internal error, not a panic.
        let invalid = PasswordHashing { memory_kib: 1, passes: 0 };
        assert!(super::hash(invalid, "correct horse battery").await.is_err());
    }
}
