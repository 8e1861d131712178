//! Lambda function for the background function `report_storage_usage` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_report_storage_usage()
}
