//! Lambda function for the background function `record_mail_events` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_record_mail_events()
}
