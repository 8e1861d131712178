//! Lambda function for the `logout_everywhere` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::LOGOUT_EVERYWHERE)
}
