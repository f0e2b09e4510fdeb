//! Fetch: only verified bytes ever reach the data folder.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;

use heartlab::data::fetch::{fetch_all, fetch_one, sha256_hex, FetchError, Outcome, Source};
use heartlab::data::hospital::Hospital;

fn copy_mirror(to: &Path) {
    let from = common::real_data_dir();
    for h in Hospital::ALL {
        std::fs::copy(from.join(h.file_name()), to.join(h.file_name())).unwrap();
    }
}

#[test]
fn fetching_from_a_mirror_copies_all_four_files_and_a_second_run_does_nothing() {
    let dest = tempfile::tempdir().unwrap();
    let source = Source::Mirror(common::real_data_dir());

    let first = fetch_all(dest.path(), &source).unwrap();
    let second = fetch_all(dest.path(), &source).unwrap();

    assert!(
        first.iter().all(|(_, o)| *o == Outcome::Fetched),
        "{first:?}"
    );
    assert!(
        second.iter().all(|(_, o)| *o == Outcome::AlreadyPresent),
        "{second:?}"
    );
    for h in Hospital::ALL {
        let bytes = std::fs::read(dest.path().join(h.file_name())).unwrap();
        assert_eq!(sha256_hex(&bytes), h.sha256(), "{}", h.file_name());
    }
}

#[test]
fn a_mirror_file_with_one_changed_byte_is_refused_by_name_with_both_hashes() {
    let mirror = tempfile::tempdir().unwrap();
    let dest = tempfile::tempdir().unwrap();
    copy_mirror(mirror.path());
    let victim = mirror.path().join("processed.va.data");
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&victim, &bytes).unwrap();

    let error = fetch_all(dest.path(), &Source::Mirror(mirror.path().into())).unwrap_err();

    let message = error.to_string();
    assert!(
        matches!(error, FetchError::ChecksumMismatch { .. }),
        "{error:?}"
    );
    assert!(message.contains("processed.va.data"), "{message}");
    assert!(
        message.contains(Hospital::LongBeachVa.sha256()),
        "{message}"
    );
    assert!(message.contains(&sha256_hex(&bytes)), "{message}");
    assert!(
        !dest.path().join("processed.va.data").exists(),
        "a bad file was left behind"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dest.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn a_corrupt_file_already_in_place_is_replaced_by_a_verified_one() {
    let dest = tempfile::tempdir().unwrap();
    let target = dest.path().join("processed.cleveland.data");
    std::fs::write(&target, b"not the data").unwrap();

    let outcome = fetch_one(
        dest.path(),
        &Source::Mirror(common::real_data_dir()),
        Hospital::Cleveland.file_name(),
        Hospital::Cleveland.sha256(),
    )
    .unwrap();

    assert_eq!(outcome, Outcome::Replaced);
    assert_eq!(
        sha256_hex(&std::fs::read(&target).unwrap()),
        Hospital::Cleveland.sha256()
    );
}

#[test]
fn a_corrupt_file_in_place_is_removed_even_when_the_source_is_also_bad() {
    let dest = tempfile::tempdir().unwrap();
    let empty_mirror = tempfile::tempdir().unwrap();
    let target = dest.path().join("processed.cleveland.data");
    std::fs::write(&target, b"not the data").unwrap();

    let result = fetch_one(
        dest.path(),
        &Source::Mirror(empty_mirror.path().into()),
        Hospital::Cleveland.file_name(),
        Hospital::Cleveland.sha256(),
    );

    assert!(matches!(result, Err(FetchError::Read { .. })), "{result:?}");
    assert!(!target.exists());
}

/// Serves each request's path from `dir` once per connection, over plain
/// HTTP on loopback, so the download path runs for real without a network.
fn serve(dir: std::path::PathBuf, requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut buffer = [0u8; 4096];
            let n = stream.read(&mut buffer).unwrap();
            let request = String::from_utf8_lossy(&buffer[..n]);
            let path = request.split_whitespace().nth(1).unwrap_or("/");
            let name = path.rsplit('/').next().unwrap_or("");
            match std::fs::read(dir.join(name)) {
                Ok(body) => {
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    stream.write_all(head.as_bytes()).unwrap();
                    stream.write_all(&body).unwrap();
                }
                Err(_) => {
                    let reply =
                        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                    stream.write_all(reply.as_bytes()).unwrap();
                }
            }
        }
    });
    format!("http://{address}/ml/heart-disease")
}

#[test]
fn downloading_over_http_verifies_like_the_mirror_does() {
    let dest = tempfile::tempdir().unwrap();
    let url = serve(common::real_data_dir(), 4);

    let outcomes = fetch_all(dest.path(), &Source::Url(url)).unwrap();

    assert!(
        outcomes.iter().all(|(_, o)| *o == Outcome::Fetched),
        "{outcomes:?}"
    );
}

#[test]
fn a_missing_file_on_the_server_is_an_error_naming_the_file() {
    let dest = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let url = serve(empty.path().into(), 1);

    let error = fetch_one(dest.path(), &Source::Url(url), "processed.va.data", "00").unwrap_err();

    assert!(matches!(error, FetchError::Read { .. }), "{error:?}");
    assert!(error.to_string().contains("processed.va.data"), "{error}");
}
