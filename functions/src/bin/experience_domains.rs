//! Lambda function for the `experience_domains` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::EXPERIENCE_DOMAINS)
}
