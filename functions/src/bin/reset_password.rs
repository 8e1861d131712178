//! Lambda function for the `reset_password` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::RESET_PASSWORD)
}
