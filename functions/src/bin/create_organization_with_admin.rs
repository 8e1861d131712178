//! Lambda function for the `create_organization_with_admin` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::CREATE_ORGANIZATION_WITH_ADMIN)
}
