//! `p1_cat PATH...`: prints each file's contents to stdout, in order; for a
//! directory, prints its sorted entry names, one per line, each followed by `/`
//! if it is a directory. A path that cannot be read is reported on stderr and
//! makes the exit code 1.

fn main() {
    let mut code = 0;
    for path in std::env::args().skip(1) {
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => {
                let mut names: Vec<String> = match std::fs::read_dir(&path) {
                    Ok(rd) => rd
                        .map(|e| {
                            let e = e.expect("entry");
                            let dir = e.file_type().expect("type").is_dir();
                            let name = e.file_name().into_string().expect("utf-8");
                            if dir {
                                format!("{name}/")
                            } else {
                                name
                            }
                        })
                        .collect(),
                    Err(e) => {
                        eprintln!("{path}: {e}");
                        code = 1;
                        continue;
                    }
                };
                names.sort();
                for n in names {
                    println!("{n}");
                }
            }
            Ok(_) => match std::fs::read(&path) {
                Ok(bytes) => print!("{}", String::from_utf8_lossy(&bytes)),
                Err(e) => {
                    eprintln!("{path}: {e}");
                    code = 1;
                }
            },
            Err(e) => {
                eprintln!("{path}: {e}");
                code = 1;
            }
        }
    }
    std::process::exit(code);
}
