//! Lambda function for the `update_domain` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::UPDATE_DOMAIN)
}
