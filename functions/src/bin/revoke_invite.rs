//! Lambda function for the `revoke_invite` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::REVOKE_INVITE)
}
