//! Lambda function for the `revoke_invite` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::REVOKE_INVITE)
}
