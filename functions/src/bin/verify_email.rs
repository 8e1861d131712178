//! Lambda function for the `verify_email` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::VERIFY_EMAIL)
}
