//! Lambda function for the `route_not_found` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::ROUTE_NOT_FOUND)
}
