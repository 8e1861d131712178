//! Lambda function for the `update_user` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::UPDATE_USER)
}
