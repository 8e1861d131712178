//! Lambda function for the `rename_passkey` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::RENAME_PASSKEY)
}
