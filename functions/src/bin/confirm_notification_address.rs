//! Lambda function for the `confirm_notification_address` operation (see `accounts::operations` and
//! `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::CONFIRM_NOTIFICATION_ADDRESS)
}
