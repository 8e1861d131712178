//! Lambda function for the `audit_log` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::AUDIT_LOG)
}
