//! Lambda function for the `passkey_auth_start` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::PASSKEY_AUTH_START)
}
