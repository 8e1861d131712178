//! Lambda function for the `start_reset_password` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::START_RESET_PASSWORD)
}
