//! The `hetile` command-line tool.

fn main() {
    println!("hetile");
}
