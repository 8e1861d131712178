//! Lambda function for the `grant_operator` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::GRANT_OPERATOR)
}
