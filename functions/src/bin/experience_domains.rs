//! Lambda function for the `experience_domains` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::EXPERIENCE_DOMAINS)
}
