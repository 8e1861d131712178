//! Lambda function for the `add_credits` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::ADD_CREDITS)
}
