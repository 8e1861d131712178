//! Lambda function for the `passkey_register_start` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::PASSKEY_REGISTER_START)
}
