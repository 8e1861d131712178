//! Lambda function for the `list_credit_transactions` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::LIST_CREDIT_TRANSACTIONS)
}
