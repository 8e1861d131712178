//! Lambda function for the `accept_ownership` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::ACCEPT_OWNERSHIP)
}
