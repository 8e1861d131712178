//! Lambda function for the `update_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::UPDATE_ORGANIZATION)
}
