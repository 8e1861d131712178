//! Lambda function for the `experience_domains` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::EXPERIENCE_DOMAINS)
}
