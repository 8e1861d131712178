//! Lambda function for the `logout` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::LOGOUT)
}
