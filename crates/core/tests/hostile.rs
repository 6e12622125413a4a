//! The hostile corpus of issue 6, section 1, built in code (no binary
//! fixtures): archives with raw tar headers and streamed gzip, so names,
//! entry types, sizes and checksums can be anything an attacker writes.
//!
//! Every case must be rejected by the library with an error that names the
//! entry and the rule, quickly, with default `Limits`, and without writing
//! anything outside the extraction directory: each case extracts into
//! `<root>/destN/` beside an empty `<root>/canary/` that the hostile names
//! aim at, and the test checks that `canary/` stays empty and `<root>` holds
//! nothing else.
//!
//! Cases whose outcome differs from the issue because the peer itself
//! behaves differently are marked "peer:" (see /work/shared/peer-contract.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ccaas_core::archive::{self, Limits};
use ccaas_core::connection::{self, LoadOptions};
use ccaas_core::examine::{self, ExamineOptions, Severity};
use ccaas_core::package;
use ccaas_core::report::chain;
use ccaas_core::steps::{self, BuildSettings};
use ccaas_core::{Metadata, TemplateConfig};
use flate2::write::GzEncoder;
use flate2::Compression;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use tar::EntryType;

const GIB: u64 = 1 << 30;
const MIB: usize = 1 << 20;
const META: &[u8] = br#"{"path":"","type":"ccaas","label":"hostile_1.0"}"#;
const CONN: &[u8] = br#"{"address": "cc.example.com:9999"}"#;

// ------------------------------------------------------------ raw tar writer

/// A tar stream written header by header: `tar::Builder` normalises or
/// refuses the names and types these tests need.
struct RawTar<W: Write> {
    out: W,
}

impl<W: Write> RawTar<W> {
    fn new(out: W) -> Self {
        RawTar { out }
    }

    /// A header with `name` and `link` as raw bytes (GNU long-name entries
    /// first when they do not fit), correct checksum.
    fn header(&mut self, name: &[u8], kind: EntryType, size: u64, link: &[u8]) -> io::Result<()> {
        let header = self.make_header(name, kind, size, link)?;
        self.out.write_all(header.as_bytes())
    }

    fn make_header(
        &mut self,
        name: &[u8],
        kind: EntryType,
        size: u64,
        link: &[u8],
    ) -> io::Result<tar::Header> {
        if name.len() > 100 {
            self.long(EntryType::GNULongName, name)?;
        }
        if link.len() > 100 {
            self.long(EntryType::GNULongLink, link)?;
        }
        let mut h = tar::Header::new_gnu();
        let n = name.len().min(100);
        h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
        let l = link.len().min(100);
        h.as_old_mut().linkname[..l].copy_from_slice(&link[..l]);
        h.set_entry_type(kind);
        h.set_size(size);
        h.set_mode(if kind == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(0);
        h.set_uid(0);
        h.set_gid(0);
        if kind == EntryType::GNUSparse {
            // A well-formed (empty) sparse map, so the entry reaches the checks.
            h.as_gnu_mut().unwrap().realsize = *b"00000000000\0";
        }
        h.set_cksum();
        Ok(h)
    }

    /// A GNU `././@LongLink` entry carrying a long name or link name.
    fn long(&mut self, kind: EntryType, bytes: &[u8]) -> io::Result<()> {
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(kind);
        h.set_size(bytes.len() as u64 + 1);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        self.out.write_all(h.as_bytes())?;
        self.out.write_all(bytes)?;
        self.out.write_all(&[0])?;
        self.pad(bytes.len() as u64 + 1)
    }

    /// A pax extended header (`x`) applying `records` to the next entry.
    fn pax(&mut self, records: &[(&str, &[u8])]) -> io::Result<()> {
        let mut body = Vec::new();
        for (key, value) in records {
            // "<len> <key>=<value>\n", where <len> counts itself.
            let rest = key.len() + value.len() + 3;
            let mut len = rest + 1;
            while len != rest + len.to_string().len() {
                len = rest + len.to_string().len();
            }
            body.extend_from_slice(format!("{len} {key}=").as_bytes());
            body.extend_from_slice(value);
            body.push(b'\n');
        }
        self.header(
            b"PaxHeaders/entry",
            EntryType::XHeader,
            body.len() as u64,
            b"",
        )?;
        self.out.write_all(&body)?;
        self.pad(body.len() as u64)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rem = (size % 512) as usize;
        if rem != 0 {
            self.out.write_all(&vec![0u8; 512 - rem])?;
        }
        Ok(())
    }

    /// A whole entry with `data` as its contents.
    fn entry(&mut self, name: &[u8], kind: EntryType, data: &[u8], link: &[u8]) -> io::Result<()> {
        self.header(name, kind, data.len() as u64, link)?;
        self.out.write_all(data)?;
        self.pad(data.len() as u64)
    }

    fn file(&mut self, name: &[u8], data: &[u8]) -> io::Result<()> {
        self.entry(name, EntryType::Regular, data, b"")
    }

    fn dir(&mut self, name: &[u8]) -> io::Result<()> {
        self.entry(name, EntryType::Directory, b"", b"")
    }

    /// A regular file of `size` zero bytes, streamed (never in memory).
    fn zeros(&mut self, name: &[u8], size: u64) -> io::Result<()> {
        self.header(name, EntryType::Regular, size, b"")?;
        let chunk = vec![0u8; MIB];
        let mut left = size;
        while left > 0 {
            let n = left.min(MIB as u64) as usize;
            self.out.write_all(&chunk[..n])?;
            left -= n as u64;
        }
        self.pad(size)
    }

    fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&[0u8; 1024])?;
        Ok(self.out)
    }
}

fn gz_level(level: u32) -> GzEncoder<Vec<u8>> {
    GzEncoder::new(Vec::new(), Compression::new(level))
}

/// What the tar of a test is written to: buffered, since this crate is
/// compiled without optimisation and small writes into the encoder are slow.
type GzOut = io::BufWriter<GzEncoder<Vec<u8>>>;

/// A gzip-compressed raw tar.
fn tar_gz(build: impl FnOnce(&mut RawTar<GzOut>) -> io::Result<()>) -> Vec<u8> {
    tar_gz_level(6, build)
}

fn tar_gz_level(level: u32, build: impl FnOnce(&mut RawTar<GzOut>) -> io::Result<()>) -> Vec<u8> {
    let mut tar = RawTar::new(io::BufWriter::with_capacity(MIB, gz_level(level)));
    build(&mut tar).unwrap();
    let buffered = tar.finish().unwrap();
    buffered.into_inner().unwrap().finish().unwrap()
}

/// An uncompressed raw tar.
fn plain_tar(build: impl FnOnce(&mut RawTar<Vec<u8>>) -> io::Result<()>) -> Vec<u8> {
    let mut tar = RawTar::new(Vec::new());
    build(&mut tar).unwrap();
    tar.finish().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = gz_level(6);
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// A code.tar.gz with `connection.json` and the given extra files.
fn code_with(files: &[(&[u8], &[u8])]) -> Vec<u8> {
    tar_gz(|t| {
        for (name, data) in files {
            t.file(name, data)?;
        }
        Ok(())
    })
}

fn valid_code() -> Vec<u8> {
    code_with(&[(b"connection.json", CONN)])
}

/// A package of `metadata.json` and `code.tar.gz`.
fn package_of(meta: &[u8], code: &[u8]) -> Vec<u8> {
    tar_gz(|t| {
        t.file(b"metadata.json", meta)?;
        t.file(b"code.tar.gz", code)
    })
}

/// A valid package followed, at the top level, by what `extra` writes.
fn package_plus(extra: impl FnOnce(&mut RawTar<GzOut>) -> io::Result<()>) -> Vec<u8> {
    let code = valid_code();
    tar_gz(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &code)?;
        extra(t)
    })
}

// ------------------------------------------------------------------ checking

/// `<root>/canary/` (hostile names aim here) and fresh `<root>/destN/`
/// extraction directories.
struct Sandbox {
    root: tempfile::TempDir,
    dests: std::cell::Cell<usize>,
}

impl Sandbox {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("canary")).unwrap();
        Sandbox {
            root,
            dests: std::cell::Cell::new(0),
        }
    }

    fn canary(&self) -> PathBuf {
        self.root.path().join("canary")
    }

    /// `<canary>/pwned` as an absolute path.
    fn target(&self) -> String {
        format!("{}/pwned", self.canary().display())
    }

    fn fresh_dest(&self) -> PathBuf {
        let n = self.dests.get() + 1;
        self.dests.set(n);
        let dest = self.root.path().join(format!("dest{n}"));
        std::fs::create_dir(&dest).unwrap();
        dest
    }

    #[track_caller]
    fn assert_nothing_outside(&self) {
        let canary: Vec<_> = std::fs::read_dir(self.canary())
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert!(canary.is_empty(), "written outside the target: {canary:?}");
        for entry in std::fs::read_dir(self.root.path()).unwrap() {
            let name = entry.unwrap().file_name().to_string_lossy().into_owned();
            assert!(
                name == "canary" || name.starts_with("dest"),
                "written outside the target: {name}"
            );
        }
    }
}

/// At most this many bytes of an error are shown on failure.
fn shown(text: &str) -> String {
    if text.len() <= 2000 {
        return text.to_owned();
    }
    let mut end = 2000;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &text[..end], text.len())
}

#[track_caller]
fn assert_names(text: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            text.contains(needle),
            "the error should name `{needle}`:\n{}",
            shown(text)
        );
    }
}

/// Reads `package` as `ccaas simulate` does (code.tar.gz extracted entry by
/// entry into a fresh dir of `sb`): it must fail naming every needle.
#[track_caller]
fn package_rejected_in(sb: &Sandbox, package: &[u8], needles: &[&str]) -> String {
    let dest = sb.fresh_dest();
    let result = package::read(package, &Limits::default(), |entry, contents| {
        archive::extract_entry(&dest, entry, contents)
    });
    let text = match result {
        Ok(info) => panic!(
            "package accepted (id {}, ignored {:?})",
            info.id,
            info.ignored.iter().map(|n| shown(n)).collect::<Vec<_>>()
        ),
        Err(e) => chain(&e),
    };
    assert_names(&text, needles);
    sb.assert_nothing_outside();
    text
}

#[track_caller]
fn package_rejected(package: &[u8], needles: &[&str]) -> String {
    package_rejected_in(&Sandbox::new(), package, needles)
}

/// `code` must be refused by `extract_code` and, inside an otherwise valid
/// package, by `package::read`, naming every needle, writing nothing outside.
#[track_caller]
fn code_rejected_in(sb: &Sandbox, code: &[u8], needles: &[&str]) -> String {
    let dest = sb.fresh_dest();
    let text = match archive::extract_code(code, &dest, &Limits::default()) {
        Ok(summary) => panic!("code.tar.gz accepted: {summary:?}"),
        Err(e) => chain(&e),
    };
    assert_names(&text, needles);
    sb.assert_nothing_outside();
    package_rejected_in(sb, &package_of(META, code), needles);
    text
}

#[track_caller]
fn code_rejected(code: &[u8], needles: &[&str]) -> String {
    code_rejected_in(&Sandbox::new(), code, needles)
}

/// Examines `package` (as `ccaas validate` does): the error findings, one
/// `file: message` line each; there must be at least one.
#[track_caller]
fn examine_errors(package: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.tgz");
    std::fs::write(&path, package).unwrap();
    examine_path_errors(&path)
}

#[track_caller]
fn examine_path_errors(path: &Path) -> String {
    let exam = examine::examine_file(path, &ExamineOptions::default())
        .unwrap_or_else(|e| panic!("examine failed outright: {}", chain(&e)));
    let errors: Vec<String> = exam
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}: {}", f.file, f.message))
        .collect();
    assert!(
        !errors.is_empty(),
        "no error found; findings: {:?}",
        exam.findings
    );
    errors.join("\n")
}

/// Runs the build step over SRC holding `connection` (and META-INF files),
/// with `config` as the template values: it must fail, and BLD stay empty.
#[track_caller]
fn build_rejects(connection: &[u8], config: Option<&str>, needles: &[&str]) -> String {
    let root = tempfile::tempdir().unwrap();
    let [src, meta, bld] = ["src", "metadata", "bld"].map(|d| {
        let p = root.path().join(d);
        std::fs::create_dir(&p).unwrap();
        p
    });
    std::fs::write(meta.join("metadata.json"), META).unwrap();
    std::fs::write(src.join("connection.json"), connection).unwrap();
    let settings = BuildSettings {
        config: config.map(str::to_owned),
        ..BuildSettings::default()
    };
    let text = match steps::build(&src, &meta, &bld, &settings) {
        Ok(report) => panic!("build accepted: {}", report.summary()),
        Err(e) => e.lines().join("\n"),
    };
    assert_names(&text, needles);
    assert_eq!(std::fs::read_dir(&bld).unwrap().count(), 0, "BLD written");
    text
}

// ----------------------------------------- names: absolute, `..`, `./../`

#[test]
fn code_absolute_path_is_rejected() {
    let sb = Sandbox::new();
    let name = sb.target();
    let code = code_with(&[(b"connection.json", CONN), (name.as_bytes(), b"x")]);
    code_rejected_in(&sb, &code, &[&name, "absolute path"]);
}

#[test]
fn code_dotdot_is_rejected() {
    for name in [
        "../canary/pwned",
        "./../canary/pwned",
        "a/../../canary/pwned",
        "./a/./../.././canary/pwned",
        "..",
    ] {
        let sb = Sandbox::new();
        let code = code_with(&[(b"connection.json", CONN), (name.as_bytes(), b"x")]);
        code_rejected_in(&sb, &code, &[name, "escapes the extraction directory"]);
    }
}

#[test]
fn code_dotdot_directory_is_rejected() {
    let sb = Sandbox::new();
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.dir(b"../canary/sub/")
    });
    code_rejected_in(&sb, &code, &["../canary/sub/", "escapes"]);
}

#[test]
fn code_pax_path_override_is_checked() {
    // The ustar name is harmless; the pax `path` record, which readers use
    // instead, escapes.
    let sb = Sandbox::new();
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.pax(&[("path", b"../canary/pwned")])?;
        t.file(b"innocent", b"x")
    });
    code_rejected_in(&sb, &code, &["../canary/pwned", "escapes"]);
}

#[test]
fn code_gnu_long_name_escape_is_checked() {
    let sb = Sandbox::new();
    let escaping = format!("{}{}", "../".repeat(40), "canary/pwned");
    assert!(escaping.len() > 100);
    let code = code_with(&[(b"connection.json", CONN), (escaping.as_bytes(), b"x")]);
    code_rejected_in(&sb, &code, &[&escaping, "escapes"]);
}

/// The entries of `code` as the library walks them: (path, size).
fn walked(code: &[u8]) -> Result<Vec<(String, u64)>, String> {
    let mut seen = Vec::new();
    archive::walk_code(code, &Limits::default(), |entry, _| {
        seen.push((entry.path.clone(), entry.size));
        Ok(())
    })
    .map_err(|e| chain(&e))?;
    Ok(seen)
}

/// `ccaas validate` must see the entries the peer's Go reader
/// (archive/tar) extracts, or refuse the archive. Go names an entry
/// preceded by both a PAX `path` record and a GNU long name after the GNU
/// long name (`next()`: `mergePAX`, then `hdr.Name = gnuLongName`), as the
/// tar crate does; reading it the other way round lets a package show one
/// connection.json to `validate` and install another.
#[test]
fn gnu_long_name_and_pax_path_are_resolved_as_the_peer_does() {
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.pax(&[("path", b"notes.txt")])?;
        t.long(EntryType::GNULongName, b"connection.json")?;
        t.file(b"shadow", br#"{"address": "evil.example.com:1"}"#)
    });
    // Go sees connection.json twice: a duplicate, which we refuse.
    if let Ok(entries) = walked(&code) {
        panic!("the peer extracts `connection.json` twice (its second copy wins); the library saw {entries:?}");
    }
}

/// The same at the package's top level, where the peer's Go reader takes
/// `metadata.json` (and so the label of the package ID) from the last
/// entry of that name: a package must not show `ccaas id`/`validate` one
/// label and install with another.
#[test]
fn package_level_gnu_long_name_and_pax_path_are_resolved_as_the_peer_does() {
    let code = valid_code();
    let package = tar_gz(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &code)?;
        t.pax(&[("path", b"notes.txt")])?;
        t.long(EntryType::GNULongName, b"metadata.json")?;
        t.file(
            b"shadow",
            br#"{"path":"","type":"ccaas","label":"other_2.0"}"#,
        )
    });
    match package::read(&package[..], &Limits::default(), |_, _| Ok(())) {
        Ok(info) => panic!(
            "the peer sees `metadata.json` twice (label `other_2.0` at install); the library read label `{}`, ignored {:?}",
            info.metadata.label, info.ignored
        ),
        Err(e) => assert_names(&chain(&e), &["metadata.json"]),
    }
}

/// Go applies a PAX `size` record to the entry that follows (`mergePAX`),
/// as the tar crate does outside raw mode: the library must read the same
/// entries as the peer, or refuse the archive. Here the ustar header says
/// 1024 bytes, the PAX record 0, and the 1024 bytes hold the header and
/// data of `b.txt`, which the peer extracts.
#[test]
fn pax_size_records_are_applied_as_the_peer_does() {
    let hidden = plain_tar(|t| t.file(b"b.txt", b"bbb"));
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.pax(&[("size", b"0")])?;
        t.header(b"a.txt", EntryType::Regular, 1024, b"")?;
        t.out.write_all(&hidden[..1024])
    });
    if let Ok(entries) = walked(&code) {
        let peer = vec![
            ("connection.json".to_owned(), CONN.len() as u64),
            ("a.txt".to_owned(), 0),
            ("b.txt".to_owned(), 3),
        ];
        assert_eq!(
            entries, peer,
            "the library reads other entries than the peer"
        );
    }
}

#[test]
fn code_pax_absolute_path_is_rejected() {
    let sb = Sandbox::new();
    let target = sb.target();
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.pax(&[("path", target.as_bytes())])?;
        t.file(b"innocent", b"x")
    });
    code_rejected_in(&sb, &code, &[&target, "absolute"]);
}

/// peer: the peer never extracts the package's top level; entries other
/// than `metadata.json` and `code.tar.gz` are ignored with a warning, so
/// these are ignored (listed, named by `validate`), not rejected.
#[test]
fn package_level_hostile_names_are_ignored_and_never_written() {
    let sb = Sandbox::new();
    let raw: Vec<Vec<u8>> = vec![
        sb.target().into_bytes(),
        b"../canary/pwned".to_vec(),
        b"./../canary/pwned".to_vec(),
        format!("{}canary/pwned", "../".repeat(40)).into_bytes(),
        b"caf\xe9-\xff".to_vec(),
        vec![b'n'; 300],
    ];
    let names: Vec<String> = raw
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    let package = package_plus(|t| {
        for name in &raw {
            t.file(name, b"x")?;
        }
        Ok(())
    });
    let dest = sb.fresh_dest();
    let info = package::read(&package[..], &Limits::default(), |e, r| {
        archive::extract_entry(&dest, e, r)
    })
    .unwrap_or_else(|e| panic!("{}", chain(&e)));
    assert_eq!(info.ignored, names);
    sb.assert_nothing_outside();
    // `validate` names each of them.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.tgz");
    std::fs::write(&path, &package).unwrap();
    let exam = examine::examine_file(&path, &ExamineOptions::default()).unwrap();
    for name in &names {
        assert!(
            exam.findings
                .iter()
                .any(|f| f.message.contains(name.as_str())),
            "{name} not named: {:?}",
            exam.findings
        );
    }
}

#[test]
fn package_level_hostile_names_instead_of_the_files_are_missing_files() {
    for name in ["/metadata.json", "../metadata.json", "./../metadata.json"] {
        let code = valid_code();
        let package = tar_gz(|t| {
            t.file(name.as_bytes(), META)?;
            t.file(b"code.tar.gz", &code)
        });
        package_rejected(&package, &["`metadata.json`", "no "]);
    }
}

// ------------------------------------------------ links and special entries

fn special_kinds() -> Vec<(EntryType, &'static str)> {
    vec![
        (EntryType::Symlink, "a symbolic link"),
        (EntryType::Link, "a hard link"),
        (EntryType::Char, "a character device"),
        (EntryType::Block, "a block device"),
        (EntryType::Fifo, "a FIFO"),
        (EntryType::XGlobalHeader, "a pax global header"),
        (EntryType::GNUSparse, "a sparse file"),
        (EntryType::new(b'Z'), "tar type `Z`"),
    ]
}

#[test]
fn code_special_entries_are_rejected() {
    for (kind, what) in special_kinds() {
        let sb = Sandbox::new();
        let canary = sb.canary().display().to_string();
        let code = tar_gz(|t| {
            t.file(b"connection.json", CONN)?;
            t.entry(b"special", kind, b"", canary.as_bytes())
        });
        code_rejected_in(&sb, &code, &["`special`", what]);
    }
}

#[test]
fn code_symlink_then_file_through_it_is_rejected() {
    for absolute in [true, false] {
        let sb = Sandbox::new();
        let link = if absolute {
            sb.canary().display().to_string()
        } else {
            "../canary".to_owned()
        };
        let code = tar_gz(|t| {
            t.file(b"connection.json", CONN)?;
            t.entry(b"link", EntryType::Symlink, b"", link.as_bytes())?;
            t.file(b"link/pwned", b"x")
        });
        code_rejected_in(&sb, &code, &["`link`", "symbolic link"]);
    }
}

#[test]
fn code_hardlink_then_file_through_it_is_rejected() {
    let sb = Sandbox::new();
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.entry(b"hard", EntryType::Link, b"", b"../canary/pwned")?;
        t.file(b"hard", b"overwrite")
    });
    code_rejected_in(&sb, &code, &["`hard`", "hard link"]);
}

#[test]
fn package_level_special_entries_are_rejected() {
    for (kind, what) in special_kinds() {
        let sb = Sandbox::new();
        let canary = sb.canary().display().to_string();
        let package = package_plus(|t| t.entry(b"special", kind, b"", canary.as_bytes()));
        package_rejected_in(&sb, &package, &["`special`", what]);
    }
}

#[test]
fn package_level_symlink_named_like_the_files_is_rejected() {
    for name in ["metadata.json", "code.tar.gz"] {
        let sb = Sandbox::new();
        let canary = sb.canary().display().to_string();
        let package = tar_gz(|t| {
            t.entry(name.as_bytes(), EntryType::Symlink, b"", canary.as_bytes())?;
            t.file(format!("{name}/pwned").as_bytes(), b"x")
        });
        package_rejected_in(&sb, &package, &[&format!("`{name}`"), "symbolic link"]);
    }
}

// ------------------------------------------- duplicates, dirs, missing files

#[test]
fn duplicate_metadata_json_is_rejected() {
    let code = valid_code();
    let package = tar_gz(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &code)?;
        t.file(
            b"metadata.json",
            br#"{"path":"","type":"ccaas","label":"other"}"#,
        )
    });
    package_rejected(&package, &["`metadata.json`", "twice", "ambiguous"]);
}

#[test]
fn duplicate_code_tar_gz_is_rejected() {
    let code = valid_code();
    let other = code_with(&[(b"connection.json", br#"{"address": "evil:1"}"#)]);
    let package = tar_gz(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &code)?;
        t.file(b"code.tar.gz", &other)
    });
    package_rejected(&package, &["`code.tar.gz`", "twice", "ambiguous"]);
}

#[test]
fn directory_named_like_the_files_is_rejected() {
    for name in ["metadata.json/", "code.tar.gz/"] {
        let code = valid_code();
        let package = tar_gz(|t| {
            t.dir(name.as_bytes())?;
            t.file(b"metadata.json", META)?;
            t.file(b"code.tar.gz", &code)
        });
        package_rejected(&package, &[name, "a directory"]);
    }
}

#[test]
fn missing_files_are_rejected() {
    let code = valid_code();
    package_rejected(
        &tar_gz(|t| t.file(b"code.tar.gz", &code)),
        &["`metadata.json`"],
    );
    package_rejected(
        &tar_gz(|t| t.file(b"metadata.json", META)),
        &["`code.tar.gz`"],
    );
    package_rejected(&tar_gz(|_| Ok(())), &["`metadata.json`"]);
}

#[test]
fn code_duplicate_and_conflicting_entries_are_rejected() {
    let dup = code_with(&[
        (b"connection.json", CONN),
        (b"./connection.json", br#"{"address": "evil:1"}"#),
    ]);
    code_rejected(&dup, &["`connection.json`", "twice"]);
    let conflict = code_with(&[(b"connection.json", CONN), (b"connection.json/x", b"x")]);
    code_rejected(&conflict, &["connection.json/x", "is a file"]);
}

// ------------------------------------------------------------------- sizes

/// A code.tar.gz holding one 10 GiB file of zeros: about 48 MB (the
/// compressor runs at level 1 to keep the test quick).
fn ten_gib_code() -> &'static [u8] {
    static CODE: OnceLock<Vec<u8>> = OnceLock::new();
    CODE.get_or_init(|| {
        tar_gz_level(1, |t| {
            t.file(b"connection.json", CONN)?;
            t.zeros(b"zeros.bin", 10 * GIB)
        })
    })
}

#[test]
fn few_hundred_kb_package_whose_code_expands_to_10_gib_is_rejected() {
    let code = ten_gib_code();
    // The package compresses the compressed zeros once more.
    let package = tar_gz_level(9, |t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", code)
    });
    assert!(package.len() < MIB, "{} bytes", package.len());
    package_rejected(&package, &["code.tar.gz", "limit", "zeros.bin"]);
    let sb = Sandbox::new();
    let dest = sb.fresh_dest();
    let text = chain(&archive::extract_code(code, &dest, &Limits::default()).unwrap_err());
    assert_names(&text, &["code.tar.gz", "limit", "zeros.bin"]);
    sb.assert_nothing_outside();
}

#[test]
fn package_expanding_to_10_gib_itself_is_rejected() {
    let code = valid_code();
    let package = tar_gz_level(1, |t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &code)?;
        t.zeros(b"padding.bin", 10 * GIB)
    });
    package_rejected(&package, &["padding.bin", "more than"]);
}

#[test]
fn code_with_100_000_entries_is_rejected() {
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        for i in 0..100_000 {
            t.file(format!("f{i:06}").as_bytes(), b"")?;
        }
        Ok(())
    });
    code_rejected(&code, &["code.tar.gz", "10000 entries"]);
}

/// The top level has no entry limit of its own: 100,000 ignored entries are
/// each kept (with their names) in `PackageInfo::ignored`.
#[test]
fn package_with_100_000_entries_is_rejected() {
    let package = package_plus(|t| {
        for i in 0..100_000 {
            t.file(format!("f{i:06}").as_bytes(), b"")?;
        }
        Ok(())
    });
    package_rejected(&package, &["entries", "limit"]);
}

#[test]
fn code_with_10_000_deep_directories_is_rejected() {
    // One directory entry per level: d/, d/d/, d/d/d/, ... (100 MB of names).
    let code = tar_gz_level(1, |t| {
        t.file(b"connection.json", CONN)?;
        let mut name = Vec::with_capacity(20_002);
        for _ in 0..10_000 {
            name.extend_from_slice(b"d/");
            t.dir(&name)?;
        }
        Ok(())
    });
    code_rejected(&code, &["levels deep", "the limit is 64"]);
}

#[test]
fn code_file_10_000_directories_deep_is_rejected() {
    let name = format!("{}f", "d/".repeat(10_000));
    let code = code_with(&[(b"connection.json", CONN), (name.as_bytes(), b"x")]);
    code_rejected(&code, &["10001 levels deep", "the limit is 64"]);
}

#[test]
fn package_level_10_000_deep_directories_are_rejected() {
    let package = package_plus(|t| {
        let mut name = Vec::new();
        for _ in 0..10_000 {
            name.extend_from_slice(b"d/");
            t.dir(&name)?;
        }
        Ok(())
    });
    package_rejected(&package, &["`d/`", "a directory"]);
}

#[test]
fn metadata_json_of_100_mb_is_rejected() {
    let code = valid_code();
    let package = tar_gz_level(1, |t| {
        t.header(b"metadata.json", EntryType::Regular, 100 * MIB as u64, b"")?;
        t.out.write_all(b"{\"label\": \"")?;
        io::copy(
            &mut io::repeat(b'a').take(100 * MIB as u64 - 13),
            &mut t.out,
        )?;
        t.out.write_all(b"\"}")?;
        t.file(b"code.tar.gz", &code)
    });
    package_rejected(&package, &["`metadata.json`", "104857600 bytes", "limit"]);
}

#[test]
fn metadata_json_file_of_100_mb_is_rejected_for_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("metadata.json");
    let mut big = br#"{"type": "ccaas", "label": ""#.to_vec();
    big.resize(100 * MIB - 2, b'a');
    big.extend_from_slice(b"\"}");
    std::fs::write(&path, &big).unwrap();
    // The build step reads METADATA/metadata.json with a limit.
    let bld = dir.path().join("bld");
    std::fs::create_dir(&bld).unwrap();
    let err = steps::build(dir.path(), dir.path(), &bld, &BuildSettings::default()).unwrap_err();
    assert_names(
        &e_lines(&err),
        &["metadata.json", "larger than 65536 bytes"],
    );
    // `ccaas validate metadata.json` must say the same, not report the
    // truncated head it read as bad JSON.
    let text = examine_path_errors(&path);
    assert_names(&text, &["metadata.json", "larger than"]);
}

fn e_lines(e: &steps::StepError) -> String {
    e.lines().join("\n")
}

/// A package whose code.tar.gz holds a 50 MB connection.json.
fn package_with_50_mb_connection() -> Vec<u8> {
    let mut conn = br#"{"address": "cc.example.com:9999", "pad": ""#.to_vec();
    conn.resize(50 * MIB - 2, b' ');
    conn.extend_from_slice(b"\"}");
    let code = tar_gz_level(1, |t| t.file(b"connection.json", &conn));
    package_of(META, &code)
}

#[test]
fn connection_json_of_50_mb_is_rejected() {
    let text = examine_errors(&package_with_50_mb_connection());
    assert_names(&text, &["connection.json", "larger than 1048576 bytes"]);
    let mut conn = br#"{"address": "cc.example.com:9999", "pad": ""#.to_vec();
    conn.resize(50 * MIB - 2, b' ');
    conn.extend_from_slice(b"\"}");
    build_rejects(
        &conn,
        None,
        &["connection.json", "larger than 1048576 bytes"],
    );
}

#[test]
fn connection_json_file_of_50_mb_is_rejected_for_its_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("connection.json");
    let mut conn = br#"{"address": "cc.example.com:9999", "pad": ""#.to_vec();
    conn.resize(50 * MIB - 2, b' ');
    conn.extend_from_slice(b"\"}");
    std::fs::write(&path, &conn).unwrap();
    // `ccaas validate connection.json` must name the size limit, not report
    // the truncated head it read as bad JSON.
    let text = examine_path_errors(&path);
    assert_names(&text, &["connection.json", "larger than"]);
}

// ------------------------------------------------------------------- names

#[test]
fn code_non_utf8_name_is_rejected() {
    let code = code_with(&[(b"connection.json", CONN), (b"caf\xe9/\xff\xfe", b"x")]);
    code_rejected(&code, &["caf\u{fffd}/", "not UTF-8"]);
}

#[test]
fn code_name_component_over_255_bytes_is_rejected() {
    let name = "n".repeat(300);
    let code = code_with(&[(b"connection.json", CONN), (name.as_bytes(), b"x")]);
    code_rejected(&code, &[&name[..64], "300 bytes long", "255"]);
}

#[test]
fn code_name_with_nul_is_rejected() {
    let code = tar_gz(|t| {
        t.file(b"connection.json", CONN)?;
        t.pax(&[("path", b"a\0../../canary/pwned")])?;
        t.file(b"innocent", b"x")
    });
    code_rejected(&code, &["NUL"]);
}

/// A GNU long name is read whole into memory by the tar reader before any
/// check, and every error echoes the whole name: an 8 MiB name (a few KB
/// compressed) must be refused with an error of reasonable length.
#[test]
fn long_names_are_refused_with_a_bounded_error() {
    let name = vec![b'n'; 8 * MIB];
    let code = code_with(&[(b"connection.json", CONN), (&name, b"x")]);
    let text = code_rejected(&code, &["255"]);
    assert!(
        text.len() < 64 * 1024,
        "an error of {} bytes: {}",
        text.len(),
        shown(&text)
    );
}

// -------------------------------------------------------- broken archives

fn truncated(bytes: &[u8]) -> &[u8] {
    &bytes[..bytes.len() / 2]
}

/// A code.tar.gz whose file data do not compress, so cutting the gzip in
/// half cuts inside a file's contents.
fn incompressible_code() -> Vec<u8> {
    let mut noise = Vec::with_capacity(256 * 1024);
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while noise.len() < 256 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        noise.extend_from_slice(&x.to_le_bytes());
    }
    code_with(&[(b"connection.json", CONN), (b"noise.bin", &noise)])
}

#[test]
fn truncated_gzip_is_rejected() {
    // Cut inside code.tar.gz's `noise.bin`: the error is about a truncated
    // archive, not about writing the extracted file.
    let package = package_of(META, &incompressible_code());
    let text = package_rejected(truncated(&package), &["gzip"]);
    assert!(!text.starts_with("cannot write"), "{text}");
    // Cut inside the package's own headers.
    let package = package_of(META, &valid_code());
    package_rejected(&package[..20], &["the package", "gzip"]);
}

#[test]
fn code_truncated_gzip_is_rejected_as_corrupt() {
    // Cut inside `noise.bin`: the error is about the archive, not about
    // writing the extracted file.
    code_rejected(truncated(&incompressible_code()), &["code.tar.gz", "gzip"]);
}

/// Flips the checksum of the first header of the tar inside `gz`.
fn bad_checksum_tar() -> Vec<u8> {
    let mut tar = plain_tar(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &valid_code())
    });
    tar[148] = if tar[148] == b'1' { b'2' } else { b'1' };
    tar
}

#[test]
fn bad_header_checksum_is_rejected() {
    package_rejected(&gzip(&bad_checksum_tar()), &["the package", "checksum"]);
    let mut code = plain_tar(|t| t.file(b"connection.json", CONN));
    code[148] = if code[148] == b'1' { b'2' } else { b'1' };
    code_rejected(&gzip(&code), &["code.tar.gz", "checksum"]);
}

#[test]
fn tar_that_is_not_gzipped_is_rejected() {
    let tar = plain_tar(|t| {
        t.file(b"metadata.json", META)?;
        t.file(b"code.tar.gz", &valid_code())
    });
    package_rejected(&tar, &["the package", "gzip"]);
    code_rejected(
        &plain_tar(|t| t.file(b"connection.json", CONN)),
        &["code.tar.gz", "gzip"],
    );
}

/// As the peer: Go's `gzip.NewReader` fails on an empty stream (`EOF`),
/// for the package and for code.tar.gz alike.
#[test]
fn empty_file_is_rejected() {
    package_rejected(b"", &["the package", "gzip"]);
    code_rejected(b"", &["code.tar.gz", "gzip"]);
}

#[test]
fn random_bytes_are_rejected() {
    let mut x: u32 = 12345;
    let noise: Vec<u8> = (0..64 * 1024)
        .map(|_| {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            (x >> 16) as u8
        })
        .collect();
    package_rejected(&noise, &["the package", "gzip"]);
    code_rejected(&noise, &["code.tar.gz", "gzip"]);
    // Random bytes after a gzip magic number.
    let mut magic = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255];
    magic.extend_from_slice(&noise);
    package_rejected(&magic, &["the package", "gzip"]);
    code_rejected(&magic, &["code.tar.gz", "gzip"]);
}

// ------------------------------------ JSON of the wrong shape or encoding

fn deep(open: &str, close: &str, levels: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(levels * (open.len() + close.len()) + 32);
    v.extend_from_slice(br#"{"address": "#);
    for _ in 0..levels {
        v.extend_from_slice(open.as_bytes());
    }
    v.extend_from_slice(b"1");
    for _ in 0..levels {
        v.extend_from_slice(close.as_bytes());
    }
    v.push(b'}');
    v
}

/// Bad connection.json texts and what the error must name.
fn bad_connections() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    vec![
        ("array", b"[1, 2]".to_vec(), &["found an array"]),
        ("number", b"42".to_vec(), &["found a number"]),
        ("string", br#""cc:9999""#.to_vec(), &["found a string"]),
        ("null", b"null".to_vec(), &["found null"]),
        (
            "address array",
            br#"{"address": ["cc:9999"]}"#.to_vec(),
            &["`address`", "an array"],
        ),
        (
            "address number",
            br#"{"address": 9999}"#.to_vec(),
            &["`address`", "a number"],
        ),
        (
            "nested arrays",
            deep("[", "]", 100_000),
            &["invalid JSON", "recursion limit"],
        ),
        (
            "nested objects",
            deep("{\"a\":", "}", 100_000),
            &["invalid JSON", "recursion limit"],
        ),
        (
            "invalid UTF-8",
            b"{\"address\": \"cc\xff\xfe:9999\"}".to_vec(),
            &["invalid JSON", "line 1"],
        ),
        (
            "BOM",
            b"\xEF\xBB\xBF{\"address\": \"cc:9999\"}".to_vec(),
            &["byte order mark"],
        ),
        (
            "raw NUL",
            b"{\"address\": \"cc\x00:9999\"}".to_vec(),
            &["invalid JSON", "control character"],
        ),
        (
            "escaped NUL",
            br#"{"address": "cc\u0000.example.com:9999"}"#.to_vec(),
            &["`address`", "host"],
        ),
        (
            "trailing NUL",
            b"{\"address\": \"cc:9999\"}\x00".to_vec(),
            &["invalid JSON", "trailing"],
        ),
        ("only NULs", vec![0; 64], &["invalid JSON"]),
        (
            "template in template",
            br#"{"address": "{{ {{.peername}} }}:9999"}"#.to_vec(),
            &["`address`", "unsupported template syntax"],
        ),
        (
            "nested braces",
            format!(
                r#"{{"address": "{}.peername{}:9999"}}"#,
                "{{".repeat(50_000),
                "}}".repeat(50_000)
            )
            .into_bytes(),
            &["`address`", "template"],
        ),
        (
            "unclosed",
            br#"{"address": "{{.peername:9999"}"#.to_vec(),
            &["`address`", "unclosed template"],
        ),
        (
            "self-reference",
            br#"{"address": "{{.loop}}"}"#.to_vec(),
            &["`address`", "{{.loop}}"],
        ),
        (
            "missing key",
            br#"{"address": "{{.nope}}:9999"}"#.to_vec(),
            &["`address`", "`.nope`"],
        ),
        (
            "template in bool",
            br#"{"address": "cc:9999", "tls_required": "{{.loop}}"}"#.to_vec(),
            &["`tls_required`", "boolean"],
        ),
    ]
}

/// The config for the template cases: `loop` renders to itself.
const CONFIG: &str = r#"{"peername": "peer0", "loop": "{{.loop}}"}"#;

#[test]
fn connection_json_of_the_wrong_shape_is_rejected_by_load() {
    let config = TemplateConfig::parse(CONFIG).unwrap();
    for (case, bytes, needles) in bad_connections() {
        let options = LoadOptions {
            config: Some(&config),
            strict: true,
            ..LoadOptions::default()
        };
        let rejected = match connection::load(&bytes, &options) {
            Ok(c) => panic!("{case}: accepted: {:?}", c.connection),
            Err(r) => r,
        };
        let text = rejected
            .problems
            .iter()
            .map(|p| chain(p))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in needles {
            assert!(
                text.contains(needle),
                "{case}: the error should name `{needle}`:\n{}",
                shown(&text)
            );
        }
    }
}

#[test]
fn connection_json_of_the_wrong_shape_is_rejected_by_build_and_validate() {
    for (case, bytes, needles) in bad_connections() {
        let text = build_rejects(&bytes, Some(CONFIG), &["connection.json"]);
        for needle in needles.iter() {
            assert!(
                text.contains(needle),
                "{case}: build should name `{needle}`:\n{}",
                shown(&text)
            );
        }
        // In a package, through `ccaas validate`'s library call (no config:
        // templates are then left for the builder, so only the other cases).
        if !case.contains("template")
            && !matches!(
                case,
                "self-reference" | "missing key" | "unclosed" | "nested braces"
            )
        {
            let code = code_with(&[(b"connection.json", &bytes)]);
            let text = examine_errors(&package_of(META, &code));
            assert_names(&text, &["connection.json"]);
            for needle in needles.iter() {
                assert!(
                    text.contains(needle),
                    "{case}: validate should name `{needle}`:\n{}",
                    shown(&text)
                );
            }
        }
    }
}

/// Rendering multiplies text: 1 MiB of `{{.a}}` (the most connection.json
/// may hold) with a 64 KiB value renders to 11 GB. The rendered text must
/// be bounded (connection.json itself is limited to 1 MiB), and the error
/// must not echo it.
#[test]
fn template_expansion_is_bounded() {
    let config = format!(r#"{{"a": "{}"}}"#, "x".repeat(16 * 1024));
    // 1,024 actions × 16 KiB = 16 MiB once rendered.
    let address = format!("{}:9999", "{{.a}}".repeat(1024));
    let bytes = format!(r#"{{"address": "{address}"}}"#);
    let config = TemplateConfig::parse(&config).unwrap();
    let options = LoadOptions {
        config: Some(&config),
        strict: true,
        ..LoadOptions::default()
    };
    let rejected = match connection::load(bytes.as_bytes(), &options) {
        Ok(c) => panic!(
            "accepted an address of {} bytes",
            c.connection.address.len()
        ),
        Err(r) => r,
    };
    let text = rejected
        .problems
        .iter()
        .map(|p| chain(p))
        .collect::<Vec<_>>()
        .join("\n");
    assert_names(&text, &["`address`"]);
    assert!(
        text.len() < 64 * 1024,
        "an error of {} bytes: {}",
        text.len(),
        shown(&text)
    );
}

fn bad_metadata() -> Vec<(&'static str, Vec<u8>, &'static [&'static str])> {
    vec![
        (
            "array",
            br#"[{"label": "a"}]"#.to_vec(),
            &["found an array"],
        ),
        ("number", b"7".to_vec(), &["found a number"]),
        (
            "label array",
            br#"{"type": "ccaas", "label": ["a"]}"#.to_vec(),
            &["`label`", "an array"],
        ),
        (
            "nested",
            {
                let mut v = br#"{"type": "ccaas", "label": "a", "x": "#.to_vec();
                v.extend(std::iter::repeat_n(b'[', 100_000));
                v.extend(std::iter::repeat_n(b']', 100_000));
                v.push(b'}');
                v
            },
            &["invalid JSON", "recursion limit"],
        ),
        (
            "invalid UTF-8",
            b"{\"type\": \"ccaas\", \"label\": \"a\xff\"}".to_vec(),
            &["invalid JSON"],
        ),
        (
            "BOM",
            b"\xEF\xBB\xBF{\"type\": \"ccaas\", \"label\": \"a\"}".to_vec(),
            &["byte order mark"],
        ),
        (
            "raw NUL",
            b"{\"type\": \"ccaas\", \"label\": \"a\x00\"}".to_vec(),
            &["invalid JSON", "control character"],
        ),
        (
            "escaped NUL",
            br#"{"type": "ccaas", "label": "a\u0000b"}"#.to_vec(),
            &["label", "not allowed"],
        ),
        (
            "template",
            br#"{"type": "ccaas", "label": "{{.label}}"}"#.to_vec(),
            &["label `{{.label}}`"],
        ),
        ("empty", b"".to_vec(), &["empty"]),
    ]
}

#[test]
fn metadata_json_of_the_wrong_shape_is_rejected() {
    for (case, bytes, needles) in bad_metadata() {
        let text = match Metadata::parse(&bytes) {
            Ok(m) => panic!("{case}: accepted: {m:?}"),
            Err(e) => chain(&e),
        };
        let all: Vec<&str> = needles.iter().copied().chain(["`metadata.json`"]).collect();
        for needle in &all {
            assert!(
                text.contains(needle),
                "{case}: the error should name `{needle}`:\n{}",
                shown(&text)
            );
        }
        // The same inside a package (where more than 64 KiB is refused for
        // its size before it is parsed).
        let text = package_rejected(&package_of(&bytes, &valid_code()), &["`metadata.json`"]);
        let needles: &[&str] = if bytes.len() > 64 * 1024 {
            &["the limit is 65536"]
        } else {
            needles
        };
        for needle in needles {
            assert!(
                text.contains(needle),
                "{case}: package::read should name `{needle}`:\n{}",
                shown(&text)
            );
        }
    }
}

// ------------------------------------------------- fuzzing regressions
//
// Each test replays the inputs kept under `fuzz/regressions/<target>/`
// (see fuzz/regressions/README.md) with the checks of that fuzz target.

/// Every input the fuzzers found a crash with for `target`, by file name.
fn regressions(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/regressions")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .map(|e| {
            let path = e.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

/// Splits a fuzz input at its first NUL: (config text, rest).
fn split_at_nul(data: &[u8]) -> (Option<&str>, &[u8]) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (std::str::from_utf8(&data[..i]).ok(), &data[i + 1..]),
        None => (None, data),
    }
}

#[test]
fn fuzz_regressions_connection_load_and_canonical_round_trip() {
    for (name, data) in regressions("connection") {
        let (config, json) = split_at_nul(&data);
        let config = config.and_then(|c| TemplateConfig::parse(c).ok());
        for strict in [false, true] {
            let options = LoadOptions {
                config: config.as_ref(),
                strict,
                ..LoadOptions::default()
            };
            if let Ok(checked) = connection::load(json, &options) {
                let again = connection::load(&checked.connection.to_json(), &options)
                    .unwrap_or_else(|_| panic!("{name}: canonical form rejected"));
                assert_eq!(again.connection, checked.connection, "{name}");
            }
        }
    }
}

/// Found by the `connection` fuzzer: an unknown key holding a number of
/// 100 digits (`18591999…9929`) is decoded one ULP off (serde_json's
/// default float parsing is not correctly rounded), so the canonical JSON
/// writes `1.8592000000000001e99`, which reads back as `1.8592e99`:
/// rewriting a connection.json changes it (and a repackaged package's ID).
#[test]
fn canonical_json_keeps_long_numbers_of_unknown_keys() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../../fuzz/regressions/connection/unknown-key-long-number-changes-when-rewritten.json",
    );
    let bytes = std::fs::read(&path).unwrap();
    let first = connection::load(&bytes, &LoadOptions::default())
        .unwrap()
        .connection;
    let canonical = first.to_json();
    let second = connection::load(&canonical, &LoadOptions::default())
        .unwrap()
        .connection;
    assert_eq!(second, first, "{}", String::from_utf8_lossy(&canonical));
    assert_eq!(second.to_json(), canonical);
}

/// The same imprecision where it reaches the peer: `dial_timeout` as a
/// number with many digits. Go's decoder (strconv.ParseFloat, correctly
/// rounded, then `time.Duration(float64)`) gives 907224543560136576ns; a
/// builder that reads it otherwise reports a dial timeout the peer will not
/// use.
#[test]
fn dial_timeout_number_is_rounded_like_go() {
    let json =
        br#"{"address": "cc:9999", "dial_timeout": 907224543560136533.9235703739085933685923604}"#;
    let c = connection::load(json, &LoadOptions::default())
        .unwrap()
        .connection;
    assert_eq!(
        c.dial_timeout.map(ccaas_core::GoDuration::as_nanos),
        Some(907_224_543_560_136_576)
    );
}

#[test]
fn fuzz_regressions_metadata_round_trip() {
    for (name, data) in regressions("metadata") {
        if let Ok(meta) = Metadata::parse(&data) {
            assert_eq!(Metadata::parse(&meta.to_json()).ok(), Some(meta), "{name}");
        }
    }
}

#[test]
fn fuzz_regressions_duration_round_trip() {
    for (name, data) in regressions("duration") {
        if let Ok(text) = std::str::from_utf8(&data) {
            if let Ok(d) = ccaas_core::GoDuration::parse(text) {
                assert_eq!(
                    ccaas_core::GoDuration::parse(&d.to_string()),
                    Ok(d),
                    "{name}"
                );
            }
        }
    }
}

#[test]
fn fuzz_regressions_template_render() {
    for (name, data) in regressions("template") {
        let (config, text) = split_at_nul(&data);
        if let (Some(Ok(config)), Ok(text)) =
            (config.map(TemplateConfig::parse), std::str::from_utf8(text))
        {
            let _ = (name, config.render(text));
        }
    }
}

#[test]
fn fuzz_regressions_package_read() {
    for (name, data) in regressions("package_read") {
        // As the target turns its input into a package.
        let Some(package) = tarfix::package(&data) else {
            continue;
        };
        let _ = package::read(&package[..], &tarfix::LIMITS, |entry, contents| {
            // The target's own assertion.
            assert!(
                !entry.path.starts_with('/')
                    && !entry.path.split('/').any(|p| p == ".." || p.is_empty()),
                "{name}: {}",
                entry.path
            );
            io::copy(contents, &mut io::sink()).map(|_| ()).ok();
            Ok(())
        });
    }
}

#[test]
fn fuzz_regressions_code_extract_stays_inside() {
    for (name, data) in regressions("code_extract") {
        let sb = Sandbox::new();
        let dest = sb.fresh_dest();
        let code = tarfix::gzipped(&data);
        let _ = (
            name,
            archive::extract_code(&code[..], &dest, &tarfix::LIMITS),
        );
        sb.assert_nothing_outside();
    }
}

/// The archive fuzz targets' own fix-up of raw tar input (header checksums
/// and gzip), so that a replayed input is read exactly as the fuzzer fed it.
#[path = "../../../fuzz/fuzz_targets/tarfix.rs"]
mod tarfix;

/// The `code_vs_go_reader` target: the files `walk_code` accepts are the
/// files a Go-like reader (the tar crate outside raw mode) reads.
#[test]
fn fuzz_regressions_code_reads_like_the_peer() {
    for (name, data) in regressions("code_vs_go_reader") {
        let code = tarfix::gzipped(&data);
        let mut ours = Vec::new();
        let walked = archive::walk_code(&code[..], &tarfix::LIMITS, |entry, contents| {
            if entry.kind == archive::CodeEntryKind::File {
                let mut bytes = Vec::new();
                contents
                    .read_to_end(&mut bytes)
                    .map_err(archive::ArchiveError::Write)?;
                ours.push((entry.path.clone(), bytes));
            }
            Ok(())
        });
        if walked.is_err() {
            continue;
        }
        let mut reference = Vec::new();
        let mut tar = tar::Archive::new(flate2::read::MultiGzDecoder::new(&code[..]));
        let complete = (|| -> Option<()> {
            for entry in tar.entries().ok()? {
                let mut entry = entry.ok()?;
                let raw = entry.path_bytes().into_owned();
                let file = matches!(
                    entry.header().entry_type(),
                    EntryType::Regular | EntryType::Continuous
                ) && !raw.ends_with(b"/");
                if file {
                    let path =
                        archive::clean_entry_name("code.tar.gz", &raw, &tarfix::LIMITS).ok()??;
                    let mut bytes = Vec::new();
                    entry.read_to_end(&mut bytes).ok()?;
                    reference.push((path, bytes));
                }
            }
            Some(())
        })();
        if complete.is_some() {
            assert!(
                ours == reference,
                "{name}: the library reads other files than the peer"
            );
        }
    }
}
