//! Lambda function for the `revoke_token` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::REVOKE_TOKEN)
}
