//! Lambda function for the `send_invites` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::SEND_INVITES)
}
