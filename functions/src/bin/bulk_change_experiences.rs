//! Lambda function for the `bulk_change_experiences` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::BULK_CHANGE_EXPERIENCES)
}
