//! Lambda function for the `update_user` operation (see `accounts::operations`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::operations::UPDATE_USER)
}
