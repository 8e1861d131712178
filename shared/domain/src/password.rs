//! Password hashing: argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::DomainError;

fn hasher() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2id parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// PHC string (algorithm, parameters, salt and hash), so parameters can change later without breaking
/// stored hashes. Runs on the blocking pool: it takes tens of milliseconds of CPU by design.
pub async fn hash(password: &str) -> Result<String, DomainError> {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || {
        hasher().hash_password(password.as_bytes()).map(|hash| hash.to_string()).map_err(|e| {
            tracing::error!(error = %e, "password hashing failed");
            DomainError::internal()
        })
    })
    .await
    .map_err(|_| DomainError::internal())?
}

/// Whether `password` matches `phc`. With `phc == None` a hash is still computed, so a login for an
/// unknown e-mail takes as long as one for a known e-mail.
pub(crate) async fn verify(password: &str, phc: Option<&str>) -> bool {
    let password = password.to_owned();
    let phc = phc.map(str::to_owned);
    tokio::task::spawn_blocking(move || match phc.as_deref().map(PasswordHash::new) {
        Some(Ok(parsed)) => hasher().verify_password(password.as_bytes(), &parsed).is_ok(),
        _ => {
            let _ = hasher().hash_password(password.as_bytes());
            false
        }
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_use_argon2id_with_owasp_parameters() {
        let phc = super::hash("correct horse battery").await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(super::verify("correct horse battery", Some(&phc)).await);
        assert!(!super::verify("wrong horse battery", Some(&phc)).await);
        assert!(!super::verify("anything", None).await);
        assert!(!super::verify("anything", Some("not a hash")).await);
        // A fresh salt every time.
        assert_ne!(phc, super::hash("correct horse battery").await.unwrap());
    }
}
