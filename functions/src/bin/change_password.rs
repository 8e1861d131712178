//! Lambda function for the `change_password` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::CHANGE_PASSWORD)
}
