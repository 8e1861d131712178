//! Lambda function for the daily invite job (see `accounts::background::INVITE_MAINTENANCE`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_invite_maintenance()
}
