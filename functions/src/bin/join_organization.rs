//! Lambda function for the `join_organization` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::JOIN_ORGANIZATION)
}
