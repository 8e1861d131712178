//! Lambda function for the `web` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::WEB)
}
