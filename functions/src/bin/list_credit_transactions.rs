//! Lambda function for the `list_credit_transactions` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::LIST_CREDIT_TRANSACTIONS)
}
