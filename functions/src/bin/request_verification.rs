//! Lambda function for the `request_verification` operation (see `accounts::routes`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run(&accounts::routes::REQUEST_VERIFICATION)
}
