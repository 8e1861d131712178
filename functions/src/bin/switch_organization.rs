//! Lambda function for the `switch_organization` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::SWITCH_ORGANIZATION)
}
