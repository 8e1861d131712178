//! Lambda function for the `resend_invite` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::RESEND_INVITE)
}
