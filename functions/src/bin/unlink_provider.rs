//! Lambda function for the `unlink_provider` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::UNLINK_PROVIDER)
}
