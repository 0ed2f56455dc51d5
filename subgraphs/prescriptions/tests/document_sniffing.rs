//! Uploaded bytes are recognised by content on thousands of seeded random
//! inputs: random junk and damaged copies of real PDF, JPEG and PNG files
//! never panic and are either accepted as what they are or refused with a
//! problem the client can act on; the real files are always accepted.

mod support;

use janta_prescriptions::domain::{declared_type, inspect_document, DocumentKind, DocumentProblem};
use janta_testkit::fuzz::{mutate, random_bytes, random_text, rng, CASES};

/// A minimal JPEG: SOI, an APP0 segment, EOI.
fn jpeg() -> Vec<u8> {
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
    out.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
    out.extend_from_slice(&[0xFF, 0xD9]);
    out
}

fn real_files() -> [(DocumentKind, Vec<u8>); 3] {
    [
        (DocumentKind::Pdf, support::pdf()),
        (DocumentKind::Jpeg, jpeg()),
        (DocumentKind::Png, support::png()),
    ]
}

const DECLARED: [Option<&str>; 5] = [
    None,
    Some("application/pdf"),
    Some("image/jpeg"),
    Some("image/png"),
    Some("text/html"),
];

#[test]
fn real_files_are_accepted_as_their_kind_with_or_without_a_declared_type() {
    for (kind, bytes) in real_files() {
        assert_eq!(inspect_document(&bytes, None), Ok(kind));
        assert_eq!(
            inspect_document(&bytes, Some(kind.content_type())),
            Ok(kind)
        );
    }
}

#[test]
fn random_and_damaged_files_are_recognised_or_refused_with_a_reason() {
    let mut rng = rng(21);
    let files = real_files();
    for case in 0..CASES {
        let bytes = match case % 4 {
            0 => random_bytes(&mut rng, 64),
            n => mutate(&mut rng, &files[n - 1].1),
        };
        let declared = DECLARED[case % DECLARED.len()];
        match inspect_document(&bytes, declared) {
            Ok(kind) => {
                assert!(
                    declared.is_none_or(|d| d == kind.content_type()),
                    "case {case}"
                );
                assert!(bytes.starts_with(&files.iter().find(|f| f.0 == kind).unwrap().1[..3]));
            }
            Err(problem) => {
                assert!(!problem.message().is_empty(), "case {case}");
                if let DocumentProblem::Mismatch {
                    declared: d,
                    actual,
                } = &problem
                {
                    assert_ne!(d, actual.content_type(), "case {case}");
                }
            }
        }
    }
}

#[test]
fn random_content_type_headers_never_panic_and_come_out_lower_case() {
    let mut rng = rng(22);
    for _ in 0..CASES {
        let header = random_text(&mut rng, "aAeEgGiIjJpPnN/;= -.+ÉİK\u{212A}", 24);
        if let Some(base) = declared_type(Some(&header)) {
            assert_eq!(base, base.to_ascii_lowercase(), "{header:?}");
            assert!(!base.contains(';'), "{header:?}");
        }
    }
}
