//! Lambda function for the `bulk_change_experiences` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::BULK_CHANGE_EXPERIENCES)
}
