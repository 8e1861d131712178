//! Lambda function for the `users_by_experience` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::USERS_BY_EXPERIENCE)
}
