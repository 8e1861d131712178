//! Lambda function for the `switch_organization` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::SWITCH_ORGANIZATION)
}
