//! Lambda function for the `resend_invite` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::RESEND_INVITE)
}
