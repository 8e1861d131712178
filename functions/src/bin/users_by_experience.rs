//! Lambda function for the `users_by_experience` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::USERS_BY_EXPERIENCE)
}
