//! Lambda function for the `revoke_token` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::REVOKE_TOKEN)
}
