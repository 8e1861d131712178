//! Lambda function for the `pricing_status` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::PRICING_STATUS)
}
