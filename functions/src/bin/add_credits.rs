//! Lambda function for the `add_credits` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::ADD_CREDITS)
}
