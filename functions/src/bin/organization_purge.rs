//! Lambda function for the background function `organization_purge` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_organization_purge()
}
