//! Lambda function for the `revoke_invite` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::REVOKE_INVITE)
}
