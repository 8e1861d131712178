//! Lambda function for the `buildinfo` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::BUILDINFO)
}
