//! Lambda function for the `create_organization` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::CREATE_ORGANIZATION)
}
