//! Prints what `playout::check::inspect` finds in a recorded file, as JSON.
//! `cargo run -p touchline-playout --example check_output -- FILE`
fn main() {
    let path = std::env::args().nth(1).expect("usage: check_output FILE");
    match playout::check::inspect(std::path::Path::new(&path)) {
        Ok(c) => println!("{}", serde_json::to_string_pretty(&c).unwrap()),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1)
        }
    }
}
