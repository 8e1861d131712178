//! Lambda function for the `leave_organization` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LEAVE_ORGANIZATION)
}
