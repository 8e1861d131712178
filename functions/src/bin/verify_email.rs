//! Lambda function for the `verify_email` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::VERIFY_EMAIL)
}
