//! Lambda function for the `bulk_change_experiences` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::BULK_CHANGE_EXPERIENCES)
}
