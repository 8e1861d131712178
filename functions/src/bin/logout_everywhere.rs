//! Lambda function for the `logout_everywhere` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::LOGOUT_EVERYWHERE)
}
