//! Lambda function for the `current_user` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::CURRENT_USER)
}
