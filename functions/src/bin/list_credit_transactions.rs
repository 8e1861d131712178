//! Lambda function for the `list_credit_transactions` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::LIST_CREDIT_TRANSACTIONS)
}
