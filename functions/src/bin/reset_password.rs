//! Lambda function for the `reset_password` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::RESET_PASSWORD)
}
