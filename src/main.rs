//! The `eidb` binary: all of it is the library's `eidb::main` (src/app.rs).

fn main() -> std::process::ExitCode {
    eidb::main()
}
