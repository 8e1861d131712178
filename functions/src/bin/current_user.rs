//! Lambda function for the `current_user` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::CURRENT_USER)
}
