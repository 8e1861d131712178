//! Lambda function for the `transfer_ownership` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::TRANSFER_OWNERSHIP)
}
