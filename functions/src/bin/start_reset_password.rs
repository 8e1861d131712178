//! Lambda function for the `start_reset_password` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::START_RESET_PASSWORD)
}
