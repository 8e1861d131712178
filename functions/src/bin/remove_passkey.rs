//! Lambda function for the `remove_passkey` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::REMOVE_PASSKEY)
}
