//! Lambda function for the `get_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::GET_ORGANIZATION)
}
