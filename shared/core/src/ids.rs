//! Identifiers, random secrets and the clock.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// `n` bytes from the operating system's CSPRNG (getrandom(2) itself: aws-lc's generator seeds a
/// generator per thread from CPU jitter first, which was a twentieth of a test process's CPU).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source failed");
    bytes
}

/// A new id in the shape WEBKNOSSOS uses for users and teams (24 hex characters, like a MongoDB ObjectId).
pub fn new_object_id() -> String {
    random_bytes::<12>().iter().map(|b| format!("{b:02x}")).collect()
}

/// An id like `new_object_id` whose first 8 hex digits are the creation time in seconds, so ids sort by
/// creation (as MongoDB ObjectIds do).
pub fn new_time_ordered_id() -> String {
    let random: String = random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
    format!("{:08x}{random}", now_seconds() as u32)
}

/// An id like `new_object_id` that sorts by creation to the millisecond (12 hex digits of epoch ms, then 48
/// random bits): for lists whose items may come within one second and must list in order.
pub fn new_millis_ordered_id() -> String {
    let random: String = random_bytes::<6>().iter().map(|b| format!("{b:02x}")).collect();
    format!("{:012x}{random}", now_millis().max(0))
}

/// A 128-bit random secret, base64url without padding (22 characters).
pub fn new_secret() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<16>())
}

pub fn is_object_id(s: &str) -> bool {
    s.len() == 24 && s.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// Milliseconds since the Unix epoch (WEBKNOSSOS's time format on the wire).
pub fn now_millis() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

pub fn now_seconds() -> i64 {
    now_millis() / 1000
}

/// The SHA-256 digest of `text` in lowercase hex (how tokens and addresses are stored when only a match matters).
pub fn sha256_hex(text: &str) -> String {
    sha256_hex_bytes(text.as_bytes())
}

/// SHA-256 of `bytes`, in hex.
pub fn sha256_hex_bytes(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// A time-ordered id for audit entries: the milliseconds `now` in 12 hex digits (sorting as text sorts by
/// time), then 64 random bits.
pub fn new_audit_id(now_millis: i64) -> String {
    let random: String = random_bytes::<8>().iter().map(|b| format!("{b:02x}")).collect();
    format!("{:012x}{random}", now_millis.max(0))
}

/// Epoch milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC): the one date formatting of the crate (audit
/// entries, events, mails). Total over every i64 (no panic for an absurd `paidUntil`).
pub fn iso8601(millis: i64) -> String {
    let seconds = millis.div_euclid(1000);
    let (days, rest) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        millis.rem_euclid(1000)
    )
}

/// The UTC date (`YYYY-MM-DD`) of epoch milliseconds.
pub fn iso_date(millis: i64) -> String {
    let time = iso8601(millis);
    time.split_once('T').map_or(time.clone(), |(date, _)| date.to_owned())
}
