//! Lambda function for the `list_organizations` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::LIST_ORGANIZATIONS)
}
