//! Lambda function for the `start_reset_password` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::START_RESET_PASSWORD)
}
