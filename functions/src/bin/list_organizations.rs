//! Lambda function for the `list_organizations` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::LIST_ORGANIZATIONS)
}
