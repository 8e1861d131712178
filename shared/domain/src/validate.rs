//! Input normalisation and validation, as WEBKNOSSOS does it: emails lowercased and checked, names trimmed
//! and transliterated, organization ids as slugs. Each failure says what is wrong in a 400.

use crate::error::refusals;

refusals! {
    /// Why an input was refused (always 400): its codes are WEBKNOSSOS's field codes.
    pub(crate) enum InputError {
        EmailEmpty => Invalid, "user.email.invalid", "The e-mail address is empty";
        EmailInvalid { raw: String, why: &'static str } => Invalid, "user.email.invalid",
            "{raw:?} is not a valid e-mail address: {why}";
        NameControlCharacters { field: &'static str } => Invalid, "user.name.invalid",
            "{field} contains control characters";
        NameInvisibleCharacters { field: &'static str } => Invalid, "user.name.invalid",
            "{field} contains invisible or text-direction characters";
        NameEmpty { field: &'static str } => Invalid, "user.name.empty", "{field} must not be empty";
        NameTooLong { field: &'static str } => Invalid, "user.name.tooLong",
            "{field} must have at most {MAX_NAME_LENGTH} characters";
        PasswordMismatch => Invalid, "user.password.mismatch", "The two passwords do not match";
        PasswordTooShort => Invalid, "user.password.tooShort",
            "The password must have at least {MIN_PASSWORD_LENGTH} characters";
        PasswordTooLong => Invalid, "user.password.tooLong",
            "The password must have at most {MAX_PASSWORD_LENGTH} characters";
        OrganizationNameControlCharacters => Invalid, "organization.name.invalid",
            "The organization name contains control characters";
        OrganizationNameInvisibleCharacters => Invalid, "organization.name.invalid",
            "The organization name contains invisible or text-direction characters";
        OrganizationNameEmpty => Invalid, "organization.name.empty", "The organization name must not be empty";
        OrganizationNameTooLong => Invalid, "organization.name.tooLong",
            "The organization name must have at most {MAX_NAME_LENGTH} characters";
        OrganizationIdInvalid => Invalid, "organization.id.invalid",
            "The organization id may contain only letters, digits, spaces and - _ .";
        OrganizationIdNotDerivable => Invalid, "organization.id.invalid",
            "No organization id can be derived from this name; please choose one";
        OrganizationIdTooLong => Invalid, "organization.id.tooLong",
            "The organization id must have at most {MAX_ORGANIZATION_ID_LENGTH} characters";
        ExperienceDomainEmpty => Invalid, "experience.domain.empty", "An experience domain must not be empty";
        ExperienceDomainTooLong { domain: String } => Invalid, "experience.domain.tooLong",
            "Experience domain {domain:?} is longer than {MAX_EXPERIENCE_DOMAIN_LENGTH} characters";
        ExperienceDomainInvalid { domain: String } => Invalid, "experience.domain.invalid",
            "Experience domain {domain:?} may contain only letters, digits, spaces and - _ . : / ( )";
        ExperienceValueOutOfRange { domain: String } => Invalid, "experience.value.outOfRange",
            "The experience value for {domain:?} must be between 0 and {MAX_EXPERIENCE_VALUE}";
        TooManyExperiences => Invalid, "experience.tooMany",
            "A user can have at most {MAX_EXPERIENCES_PER_USER} experience domains";
        ExperienceDomainTwice { domain: String } => Invalid, "experience.domain.duplicate",
            "Experience domain {domain:?} is given twice";
        TeamNameEmpty => Invalid, "team.name.empty", "The team name must not be empty";
        TeamNameTooLong => Invalid, "team.name.tooLong",
            "The team name must have at most {MAX_TEAM_NAME_LENGTH} characters";
        TeamNameInvalid => Invalid, "team.name.invalid",
            "The team name may contain only letters, digits, spaces and - _ . ß";
    }
}

pub(crate) const MAX_EMAIL_LENGTH: usize = 254;
pub(crate) const MAX_NAME_LENGTH: usize = 100;
pub(crate) const MIN_PASSWORD_LENGTH: usize = 8;
/// Long enough for any passphrase, short enough that hashing stays cheap.
pub(crate) const MAX_PASSWORD_LENGTH: usize = 1024;
pub(crate) const MAX_ORGANIZATION_ID_LENGTH: usize = 64;

/// Trimmed and lowercased, or a 400 naming the problem.
pub(crate) fn email(raw: &str) -> Result<String, InputError> {
    let email = raw.trim().to_lowercase();
    let invalid = |why: &'static str| InputError::EmailInvalid { raw: raw.to_owned(), why };
    if email.is_empty() {
        return Err(InputError::EmailEmpty);
    }
    if email.len() > MAX_EMAIL_LENGTH {
        return Err(invalid("it is too long"));
    }
    let Some((local, domain)) = email.split_once('@') else {
        return Err(invalid("it has no @"));
    };
    if local.is_empty() || local.len() > 64 {
        return Err(invalid("the part before @ must have 1 to 64 characters"));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Err(invalid("the part before @ has misplaced dots"));
    }
    if !local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c)) {
        return Err(invalid("the part before @ has a character that is not allowed"));
    }
    let labels: Vec<&str> = domain.split('.').collect();
    if labels.len() < 2 {
        return Err(invalid("the domain needs a dot"));
    }
    for label in &labels {
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !valid {
            return Err(invalid("the domain is malformed"));
        }
    }
    let tld = labels.last().copied().unwrap_or_default();
    if tld.len() < 2 || tld.chars().all(|c| c.is_ascii_digit()) {
        return Err(invalid("the domain has no valid top-level part"));
    }
    Ok(email)
}

/// A first or last name: trimmed, accents transliterated, inner white space collapsed, never empty.
pub(crate) fn person_name(field: &'static str, raw: &str) -> Result<String, InputError> {
    if raw.chars().any(char::is_control) {
        return Err(InputError::NameControlCharacters { field });
    }
    if raw.chars().any(is_invisible) {
        return Err(InputError::NameInvisibleCharacters { field });
    }
    let name = collapse_whitespace(&deunicode::deunicode(raw));
    if name.is_empty() {
        return Err(InputError::NameEmpty { field });
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(InputError::NameTooLong { field });
    }
    Ok(name)
}

/// The password of a sign-up form: both entries equal and long enough.
pub(crate) fn new_password<'a>(password1: &'a str, password2: &str) -> Result<&'a str, InputError> {
    if password1 != password2 {
        return Err(InputError::PasswordMismatch);
    }
    password(password1)
}

pub(crate) fn password(password: &str) -> Result<&str, InputError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(InputError::PasswordTooShort);
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(InputError::PasswordTooLong);
    }
    Ok(password)
}

/// An organization's display name: trimmed, inner white space collapsed, not empty.
pub(crate) fn organization_name(raw: &str) -> Result<String, InputError> {
    if raw.chars().any(char::is_control) {
        return Err(InputError::OrganizationNameControlCharacters);
    }
    if raw.chars().any(is_invisible) {
        return Err(InputError::OrganizationNameInvisibleCharacters);
    }
    let name = collapse_whitespace(raw);
    if name.is_empty() {
        return Err(InputError::OrganizationNameEmpty);
    }
    if name.chars().count() > MAX_NAME_LENGTH {
        return Err(InputError::OrganizationNameTooLong);
    }
    Ok(name)
}

/// The organization id (WEBKNOSSOS: `^[A-Za-z0-9\-_. ]+$`). When none is given it is derived from the name:
/// transliterated, spaces as `_`, other characters dropped.
pub(crate) fn organization_id(requested: Option<&str>, name: &str) -> Result<String, InputError> {
    let id = match requested.map(str::trim).filter(|s| !s.is_empty()) {
        Some(id) => {
            if !id.chars().all(is_organization_id_char) {
                return Err(InputError::OrganizationIdInvalid);
            }
            id.to_owned()
        }
        None => {
            let derived: String = deunicode::deunicode(name)
                .trim()
                .chars()
                .map(|c| if c == ' ' { '_' } else { c })
                .filter(|c| is_organization_id_char(*c))
                .collect();
            if derived.is_empty() {
                return Err(InputError::OrganizationIdNotDerivable);
            }
            derived
        }
    };
    if id.chars().count() > MAX_ORGANIZATION_ID_LENGTH {
        return Err(InputError::OrganizationIdTooLong);
    }
    Ok(id)
}

pub(crate) const MAX_EXPERIENCE_DOMAIN_LENGTH: usize = 64;
pub(crate) const MAX_EXPERIENCE_VALUE: i64 = 1_000_000;
pub(crate) const MAX_EXPERIENCES_PER_USER: usize = 40;
pub(crate) const MAX_TEAM_NAME_LENGTH: usize = 100;

/// An experience domain: trimmed, 1 to 64 characters of letters, digits, space and `- _ . : / ( )`.
pub(crate) fn experience_domain(raw: &str) -> Result<String, InputError> {
    let domain = raw.trim();
    if domain.is_empty() {
        return Err(InputError::ExperienceDomainEmpty);
    }
    if domain.chars().count() > MAX_EXPERIENCE_DOMAIN_LENGTH {
        return Err(InputError::ExperienceDomainTooLong { domain: domain.to_owned() });
    }
    if !domain.chars().all(|c| c.is_alphanumeric() || " -_.:/()".contains(c)) {
        return Err(InputError::ExperienceDomainInvalid { domain: domain.to_owned() });
    }
    Ok(domain.to_owned())
}

pub(crate) fn experience_value(domain: &str, value: i64) -> Result<i64, InputError> {
    if !(0..=MAX_EXPERIENCE_VALUE).contains(&value) {
        return Err(InputError::ExperienceValueOutOfRange { domain: domain.to_owned() });
    }
    Ok(value)
}

/// A user's experiences (domain -> value), validated, with domains trimmed.
pub(crate) fn experiences(
    raw: &std::collections::BTreeMap<String, i64>,
) -> Result<std::collections::BTreeMap<String, i64>, InputError> {
    if raw.len() > MAX_EXPERIENCES_PER_USER {
        return Err(InputError::TooManyExperiences);
    }
    let mut result = std::collections::BTreeMap::new();
    for (domain, value) in raw {
        let domain = experience_domain(domain)?;
        let value = experience_value(&domain, *value)?;
        if result.insert(domain.clone(), value).is_some() {
            return Err(InputError::ExperienceDomainTwice { domain });
        }
    }
    Ok(result)
}

/// A team name (WEBKNOSSOS: `^[A-Za-z0-9\-_\. ß]+$`), trimmed, at most 100 characters.
pub(crate) fn team_name(raw: &str) -> Result<String, InputError> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(InputError::TeamNameEmpty);
    }
    if name.chars().count() > MAX_TEAM_NAME_LENGTH {
        return Err(InputError::TeamNameTooLong);
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_. ß".contains(c)) {
        return Err(InputError::TeamNameInvalid);
    }
    Ok(name.to_owned())
}

/// Characters that are invisible or change the direction of the text around them (Unicode format
/// characters and the like): in a name they hide or disguise what others read (a right-to-left override
/// makes "Eve\u{202E}nimda" display as "Eveadmin").
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{2028}'..='\u{202E}' | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{FFF0}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}' | '\u{E0000}'..='\u{E0FFF}')
}

fn is_organization_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        assert_eq!(email("  Alice.Smith@Example.ORG ").unwrap(), "alice.smith@example.org");
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.org",
            "alice@example",
            "a b@example.org",
            "alice@-x.org",
            "alice@example.1",
            "a..b@example.org",
            "alice@@example.org",
        ] {
            assert_eq!(email(bad).unwrap_err().code(), "user.email.invalid", "{bad:?} should be invalid");
        }
        assert!(email(&format!("{}@example.org", "a".repeat(65))).is_err());
    }

    #[test]
    fn names_are_trimmed_and_transliterated() {
        assert_eq!(person_name("firstName", "  Jürgen   Müller ").unwrap(), "Jurgen Muller");
        assert_eq!(person_name("lastName", "Ødegård").unwrap(), "Odegard");
        assert_eq!(person_name("firstName", "   ").unwrap_err().code(), "user.name.empty");
        assert_eq!(person_name("firstName", "a\u{0}b").unwrap_err().code(), "user.name.invalid");
        for hidden in ["Eve\u{202E}nimda", "Ada\u{200B}", "\u{2066}Ada\u{2069}", "A\u{FEFF}da", "Ada\u{E0041}"] {
            assert_eq!(person_name("firstName", hidden).unwrap_err().code(), "user.name.invalid", "{hidden:?}");
            assert_eq!(organization_name(hidden).unwrap_err().code(), "organization.name.invalid", "{hidden:?}");
        }
        assert_eq!(person_name("firstName", "Zoë 李 Ñúñez").unwrap(), "Zoe Li Nunez");
        assert_eq!(organization_name("  Labor für   Neuro-Anatomie 神经 ").unwrap(), "Labor für Neuro-Anatomie 神经");
        assert_eq!(person_name("firstName", &"x".repeat(101)).unwrap_err().code(), "user.name.tooLong");
    }

    #[test]
    fn passwords_need_eight_characters_and_to_match() {
        assert!(new_password("correct horse", "correct horse").is_ok());
        assert_eq!(new_password("abcdefgh", "abcdefgi").unwrap_err().code(), "user.password.mismatch");
        assert_eq!(new_password("short", "short").unwrap_err().code(), "user.password.tooShort");
        // Counted in characters, not bytes.
        assert!(password("ääääääää").is_ok());
        assert!(password("äääääää").is_err());
    }

    #[test]
    fn experiences_are_trimmed_and_bounded() {
        let raw = std::collections::BTreeMap::from([(" nuclei ".to_owned(), 10), ("mito-chondria".to_owned(), 0)]);
        let checked = experiences(&raw).unwrap();
        assert_eq!(checked.get("nuclei"), Some(&10));
        for (domain, value, code) in [
            ("", 1, "experience.domain.empty"),
            ("a#b", 1, "experience.domain.invalid"),
            ("ok", -1, "experience.value.outOfRange"),
            ("ok", MAX_EXPERIENCE_VALUE + 1, "experience.value.outOfRange"),
        ] {
            let raw = std::collections::BTreeMap::from([(domain.to_owned(), value)]);
            assert_eq!(experiences(&raw).unwrap_err().code(), code, "{domain:?} {value}");
        }
        let twice = std::collections::BTreeMap::from([("x".to_owned(), 1), (" x".to_owned(), 2)]);
        assert_eq!(experiences(&twice).unwrap_err().code(), "experience.domain.duplicate");
        assert!(experience_domain(&"d".repeat(65)).is_err());
    }

    #[test]
    fn team_names_follow_webknossos() {
        assert_eq!(team_name(" Straße 1.a_b-c ").unwrap(), "Straße 1.a_b-c");
        assert_eq!(team_name("").unwrap_err().code(), "team.name.empty");
        assert_eq!(team_name("a/b").unwrap_err().code(), "team.name.invalid");
    }

    #[test]
    fn organization_ids_are_slugs() {
        assert_eq!(organization_id(None, "Sample Lab").unwrap(), "Sample_Lab");
        assert_eq!(organization_id(None, "Müller Lab!").unwrap(), "Muller_Lab");
        assert_eq!(organization_id(Some("my-lab.v2"), "ignored").unwrap(), "my-lab.v2");
        assert_eq!(organization_id(Some("lab#1"), "x").unwrap_err().code(), "organization.id.invalid");
        assert_eq!(organization_id(None, "!!!").unwrap_err().code(), "organization.id.invalid");
    }
}
