//! Lambda function for the `delete_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::DELETE_ORGANIZATION)
}
