//! Lambda function for the background function `send_mail` (see `accounts::background::BACKGROUND`).

fn main() -> Result<(), accounts::lambda::Error> {
    accounts::lambda::run_send_mail()
}
