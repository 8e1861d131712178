//! Lambda function for the background function `publish_audit_events` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_publish_audit_events()
}
