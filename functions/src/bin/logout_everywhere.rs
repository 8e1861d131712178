//! Lambda function for the `logout_everywhere` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LOGOUT_EVERYWHERE)
}
