//! Lambda function for the `claim_domain` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::CLAIM_DOMAIN)
}
