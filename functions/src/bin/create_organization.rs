//! Lambda function for the `create_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::CREATE_ORGANIZATION)
}
