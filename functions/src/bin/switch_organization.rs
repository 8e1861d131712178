//! Lambda function for the `switch_organization` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::SWITCH_ORGANIZATION)
}
