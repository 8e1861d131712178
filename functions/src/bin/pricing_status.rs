//! Lambda function for the `pricing_status` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::PRICING_STATUS)
}
