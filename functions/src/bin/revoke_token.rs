//! Lambda function for the `revoke_token` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::REVOKE_TOKEN)
}
