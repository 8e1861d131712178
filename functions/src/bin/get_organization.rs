//! Lambda function for the `get_organization` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::GET_ORGANIZATION)
}
