//! Lambda function for the `verify_domain` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::VERIFY_DOMAIN)
}
