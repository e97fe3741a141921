//! Prints a user's top-k candidates from a twotower model file.
//!
//!   cargo run -- model.tt --user 42 -k 10
//!   cargo run -- model.tt --user 42 --timestamp 879024327 -k 5 --set other_column=value
//!
//! The query row is built from the columns the model's query tower reads (taken from its
//! spec): `--user` fills `user_id`, `--timestamp` fills `timestamp` (default: now), `--set`
//! any column. Exit status 2 for bad arguments, 1 when the library reports an error.
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use twotower::{DType, Model, Table};

const USAGE: &str = "usage: twotower-query MODEL.tt --user ID [-k N] [--timestamp UNIX_SECONDS] [--set COLUMN=VALUE]...";

#[derive(Debug)]
struct Args {
    model: String,
    k: usize,
    values: BTreeMap<String, String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut model = None;
    let mut k = 10;
    let mut values = BTreeMap::new();
    while let Some(arg) = args.next() {
        let mut value = |flag: &str| args.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "-h" | "--help" => return Err(String::new()),
            "-k" => {
                let text = value("-k")?;
                k = text
                    .parse()
                    .ok()
                    .filter(|&k| k > 0)
                    .ok_or_else(|| format!("-k needs a positive integer, got '{text}'"))?;
            }
            "--user" => {
                values.insert("user_id".to_owned(), value("--user")?);
            }
            "--timestamp" => {
                values.insert("timestamp".to_owned(), value("--timestamp")?);
            }
            "--set" => {
                let pair = value("--set")?;
                match pair.split_once('=') {
                    Some((column, v)) if !column.is_empty() => {
                        values.insert(column.to_owned(), v.to_owned())
                    }
                    _ => return Err(format!("--set expects COLUMN=VALUE, got '{pair}'")),
                };
            }
            flag if flag.starts_with('-') => return Err(format!("unknown option '{flag}'")),
            path if model.is_none() => model = Some(path.to_owned()),
            extra => {
                return Err(format!(
                    "unexpected argument '{extra}' (one model file only)"
                ))
            }
        }
    }
    let model = model.ok_or("no model file given")?;
    if !values.contains_key("user_id") && !values.keys().any(|c| c != "timestamp") {
        return Err("no query given: pass --user ID (or --set COLUMN=VALUE)".into());
    }
    Ok(Args { model, k, values })
}

/// A one-row table of the query tower's columns, typed as the model reads them.
fn query_table(model: &Model, values: &BTreeMap<String, String>) -> Result<Table, String> {
    let mut builder = Table::builder();
    let columns = model.query_columns().map_err(|e| e.to_string())?;
    for (column, dtype) in &columns {
        let text = match values.get(column) {
            Some(text) => text.clone(),
            None if column == "timestamp" => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                eprintln!("note: no --timestamp given: querying at the current time, {now}");
                now.to_string()
            }
            None => {
                let hint = if column == "user_id" {
                    " (--user ID)"
                } else {
                    ""
                };
                return Err(format!("the model's query tower reads column '{column}': pass --set {column}=VALUE{hint}"));
            }
        };
        let bad = |what: &str| format!("column '{column}' needs {what}, got '{text}'");
        builder = match dtype {
            DType::String => builder.strings(column, &[text.as_str()]),
            DType::Int64 => builder.int64(column, &[text.parse().map_err(|_| bad("an integer"))?]),
            DType::Float32 => {
                builder.float32(column, &[text.parse().map_err(|_| bad("a number"))?])
            }
        };
    }
    if let Some(unused) = values
        .keys()
        .find(|c| !columns.iter().any(|(name, _)| name == *c))
    {
        let known: Vec<&str> = columns.iter().map(|(c, _)| c.as_str()).collect();
        return Err(format!(
            "the model's query tower reads no column '{unused}' (it reads: {})",
            known.join(", ")
        ));
    }
    builder.build().map_err(|e| e.to_string())
}

fn run(args: &Args) -> Result<(), String> {
    let model = Model::load(&args.model).map_err(|e| e.to_string())?;
    let query = query_table(&model, &args.values)?;
    let hits = model.query(&query, args.k).map_err(|e| e.to_string())?;
    println!("{:>4}  {:>9}  candidate", "rank", "score");
    for (rank, hit) in hits[0].iter().enumerate() {
        let key = model
            .candidate_key_bytes(hit.id)
            .map_err(|e| e.to_string())?;
        println!(
            "{:>4}  {:>9.4}  {}",
            rank + 1,
            hit.score,
            String::from_utf8_lossy(key)
        );
    }
    Ok(())
}

fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) if message.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(message) => {
            eprintln!("twotower-query: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("twotower-query: {message}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags_in_any_order() {
        let a = parse(&["-k", "5", "m.tt", "--user", "42", "--set", "x=a=b"]).unwrap();
        assert_eq!((a.model.as_str(), a.k), ("m.tt", 5));
        assert_eq!(a.values["user_id"], "42");
        assert_eq!(a.values["x"], "a=b");
    }

    #[test]
    fn bad_arguments_are_explained() {
        for (args, message) in [
            (
                &["m.tt", "--user", "1", "-k", "0"][..],
                "-k needs a positive integer, got '0'",
            ),
            (&["m.tt", "--user", "1", "-k", "ten"][..], "got 'ten'"),
            (&["m.tt", "--user"][..], "--user needs a value"),
            (&["m.tt"][..], "no query given"),
            (&["--user", "1"][..], "no model file given"),
            (
                &["m.tt", "--user", "1", "--frobnicate"][..],
                "unknown option '--frobnicate'",
            ),
            (
                &["m.tt", "n.tt", "--user", "1"][..],
                "unexpected argument 'n.tt'",
            ),
            (&["m.tt", "--set", "=1"][..], "--set expects COLUMN=VALUE"),
        ] {
            let err = parse(args).unwrap_err();
            assert!(err.contains(message), "{args:?}: {err}");
        }
    }
}
