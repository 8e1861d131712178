//! Lambda function for the `join_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::JOIN_ORGANIZATION)
}
