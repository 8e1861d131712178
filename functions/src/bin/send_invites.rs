//! Lambda function for the `send_invites` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::SEND_INVITES)
}
