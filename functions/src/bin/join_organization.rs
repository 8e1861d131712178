//! Lambda function for the `join_organization` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::JOIN_ORGANIZATION)
}
