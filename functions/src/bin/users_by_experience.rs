//! Lambda function for the `users_by_experience` operation (see `accounts::operations` and `accounts::dispatch`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::dispatch::USERS_BY_EXPERIENCE)
}
