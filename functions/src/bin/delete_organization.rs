//! Lambda function for the `delete_organization` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::DELETE_ORGANIZATION)
}
