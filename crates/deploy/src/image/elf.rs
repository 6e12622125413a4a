//! Just enough of an ELF header to say whether a binary can run in an
//! image `FROM scratch`: its architecture (for the image config) and its
//! program interpreter (`PT_INTERP`), which a dynamic binary names and a
//! static one has none of.

/// What the ELF header of a binary says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// The architecture in the OCI (Go `GOARCH`) spelling: `amd64`,
    /// `arm64`, ...
    pub architecture: &'static str,
    /// The variant, where the OCI spec has one (`v7` for 32-bit ARM).
    pub variant: Option<&'static str>,
    /// The program interpreter of a dynamic binary
    /// (`/lib64/ld-linux-x86-64.so.2`); `None` for a static one.
    pub interpreter: Option<String>,
}

/// Why a file is not an ELF executable we can put in an image.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfError {
    /// Not ELF at all (a script, a Mach-O or PE binary, a text file).
    #[error("not an ELF executable ({found}); expected a Linux binary built by `cargo build`")]
    NotElf {
        /// What the first bytes look like.
        found: String,
    },
    /// An ELF file that is not an executable (an object file, a core dump).
    #[error("an ELF file of type {e_type}, not an executable (expected ET_EXEC or ET_DYN)")]
    NotExecutable {
        /// The `e_type` field.
        e_type: u16,
    },
    /// The header points past the end of the file.
    #[error("a truncated or corrupt ELF file: {what}")]
    Corrupt {
        /// Which part is out of bounds.
        what: &'static str,
    },
    /// A machine with no OCI architecture name.
    #[error("an ELF binary for machine {machine} ({class}-bit, {endian}-endian), which has no OCI architecture name here")]
    UnknownMachine {
        /// `e_machine`.
        machine: u16,
        /// 32 or 64.
        class: u8,
        /// `little` or `big`.
        endian: &'static str,
    },
}

const PT_INTERP: u32 = 3;
/// Longest interpreter path we read (Linux's is `PATH_MAX`).
const MAX_INTERP: u64 = 4096;

/// Reads the ELF header and program headers of `bytes`.
///
/// ```
/// use ccaas_deploy::image::elf;
///
/// let err = elf::parse(b"#!/bin/sh\necho hi\n").unwrap_err();
/// assert!(err.to_string().contains("a script"));
/// ```
pub fn parse(bytes: &[u8]) -> Result<ElfInfo, ElfError> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        return Err(ElfError::NotElf {
            found: describe(bytes),
        });
    }
    let corrupt = |what| ElfError::Corrupt { what };
    let class = *bytes.get(4).ok_or(corrupt("no class byte"))?;
    let data = *bytes.get(5).ok_or(corrupt("no data byte"))?;
    let wide = match class {
        1 => false,
        2 => true,
        _ => return Err(corrupt("EI_CLASS is neither 32- nor 64-bit")),
    };
    let little = match data {
        1 => true,
        2 => false,
        _ => return Err(corrupt("EI_DATA is neither little- nor big-endian")),
    };
    let r = Reader { bytes, little };
    let e_type = r.u16(16).ok_or(corrupt("the header is cut short"))?;
    let machine = r.u16(18).ok_or(corrupt("the header is cut short"))?;
    if e_type != 2 && e_type != 3 {
        return Err(ElfError::NotExecutable { e_type });
    }
    let (phoff, phentsize, phnum) = if wide {
        (r.u64(32), r.u16(54), r.u16(56))
    } else {
        (r.u32(28).map(u64::from), r.u16(42), r.u16(44))
    };
    let (phoff, phentsize, phnum) = match (phoff, phentsize, phnum) {
        (Some(o), Some(s), Some(n)) => (o, u64::from(s), u64::from(n)),
        _ => return Err(corrupt("the header is cut short")),
    };
    let (architecture, variant) = arch(machine, wide, little).ok_or(ElfError::UnknownMachine {
        machine,
        class: if wide { 64 } else { 32 },
        endian: if little { "little" } else { "big" },
    })?;
    let mut interpreter = None;
    for i in 0..phnum {
        let at = phoff
            .checked_add(i.checked_mul(phentsize).ok_or(corrupt("program headers"))?)
            .ok_or(corrupt("program headers"))?;
        let at = usize::try_from(at).map_err(|_| corrupt("program headers"))?;
        let p_type = r
            .u32(at)
            .ok_or(corrupt("a program header lies past the end of the file"))?;
        if p_type != PT_INTERP {
            continue;
        }
        let (offset, size) = if wide {
            (r.u64(at + 8), r.u64(at + 32))
        } else {
            (r.u32(at + 4).map(u64::from), r.u32(at + 16).map(u64::from))
        };
        let (offset, size) = match (offset, size) {
            (Some(o), Some(s)) if s <= MAX_INTERP => (o, s),
            _ => return Err(corrupt("the PT_INTERP header")),
        };
        let start = usize::try_from(offset).map_err(|_| corrupt("the interpreter path"))?;
        let end = start
            .checked_add(size as usize)
            .ok_or(corrupt("the interpreter path"))?;
        let raw = bytes.get(start..end).ok_or(corrupt(
            "the interpreter path lies past the end of the file",
        ))?;
        let raw = raw.split(|b| *b == 0).next().unwrap_or_default();
        interpreter = Some(String::from_utf8_lossy(raw).into_owned());
    }
    Ok(ElfInfo {
        architecture,
        variant,
        interpreter,
    })
}

/// The OCI architecture (and variant) of an ELF `e_machine`.
fn arch(machine: u16, wide: bool, little: bool) -> Option<(&'static str, Option<&'static str>)> {
    Some(match (machine, wide, little) {
        (62, true, true) => ("amd64", None),
        (183, true, true) => ("arm64", Some("v8")),
        (3, false, true) => ("386", None),
        (40, false, true) => ("arm", Some("v7")),
        (21, true, true) => ("ppc64le", None),
        (22, true, false) => ("s390x", None),
        (243, true, true) => ("riscv64", None),
        (258, true, true) => ("loong64", None),
        _ => return None,
    })
}

/// The smallest static x86-64 ELF executable header this module accepts
/// (no code: for examples and tests that build images, not run them).
#[doc(hidden)]
pub fn minimal_static_elf() -> Vec<u8> {
    let mut b = vec![0u8; 64 + 56];
    b[..4].copy_from_slice(b"\x7fELF");
    b[4] = 2;
    b[5] = 1;
    b[6] = 1;
    b[16..18].copy_from_slice(&2u16.to_le_bytes());
    b[18..20].copy_from_slice(&62u16.to_le_bytes());
    b[32..40].copy_from_slice(&64u64.to_le_bytes());
    b[54..56].copy_from_slice(&56u16.to_le_bytes());
    b[56..58].copy_from_slice(&1u16.to_le_bytes());
    b[64..68].copy_from_slice(&1u32.to_le_bytes());
    b
}

/// What a non-ELF file looks like, for the error.
fn describe(bytes: &[u8]) -> String {
    match bytes {
        [] => "an empty file".into(),
        [b'#', b'!', ..] => "a script, starting with `#!`".into(),
        [0xcf, 0xfa, 0xed, 0xfe, ..] | [0xce, 0xfa, 0xed, 0xfe, ..] => {
            "a Mach-O binary, built for macOS: cross-compile for Linux".into()
        }
        [b'M', b'Z', ..] => "a Windows PE binary: cross-compile for Linux".into(),
        [0x1f, 0x8b, ..] => "a gzip file".into(),
        _ => {
            let head: Vec<String> = bytes.iter().take(4).map(|b| format!("{b:02x}")).collect();
            format!("it starts with bytes {}", head.join(" "))
        }
    }
}

/// Bounds-checked little- or big-endian reads.
struct Reader<'a> {
    bytes: &'a [u8],
    little: bool,
}

impl Reader<'_> {
    fn take<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes.get(at..at.checked_add(N)?)?.try_into().ok()
    }
    fn u16(&self, at: usize) -> Option<u16> {
        let b = self.take::<2>(at)?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }
    fn u32(&self, at: usize) -> Option<u32> {
        let b = self.take::<4>(at)?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }
    fn u64(&self, at: usize) -> Option<u64> {
        let b = self.take::<8>(at)?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal 64-bit little-endian x86-64 ELF with one program header,
    /// optionally PT_INTERP naming `interp`.
    fn elf64(interp: Option<&str>) -> Vec<u8> {
        let mut b = vec![0u8; 64 + 56];
        b[..4].copy_from_slice(b"\x7fELF");
        b[4] = 2;
        b[5] = 1;
        b[6] = 1;
        b[16..18].copy_from_slice(&2u16.to_le_bytes());
        b[18..20].copy_from_slice(&62u16.to_le_bytes());
        b[32..40].copy_from_slice(&64u64.to_le_bytes());
        b[54..56].copy_from_slice(&56u16.to_le_bytes());
        b[56..58].copy_from_slice(&1u16.to_le_bytes());
        let p_type: u32 = if interp.is_some() { PT_INTERP } else { 1 };
        b[64..68].copy_from_slice(&p_type.to_le_bytes());
        if let Some(path) = interp {
            let off = b.len() as u64;
            b[72..80].copy_from_slice(&off.to_le_bytes());
            b[96..104].copy_from_slice(&(path.len() as u64 + 1).to_le_bytes());
            b.extend_from_slice(path.as_bytes());
            b.push(0);
        }
        b
    }

    #[test]
    fn static_binary_has_no_interpreter() {
        let info = parse(&elf64(None)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(info.architecture, "amd64");
        assert_eq!(info.interpreter, None);
    }

    #[test]
    fn dynamic_binary_names_its_interpreter() {
        let info =
            parse(&elf64(Some("/lib64/ld-linux-x86-64.so.2"))).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib64/ld-linux-x86-64.so.2")
        );
    }

    #[test]
    fn truncated_headers_are_errors_not_panics() {
        let full = elf64(Some("/lib/ld.so"));
        for len in 0..full.len() {
            let _ = parse(&full[..len]);
        }
        assert!(matches!(parse(&full[..70]), Err(ElfError::Corrupt { .. })));
    }

    #[test]
    fn the_test_binary_itself_is_read() {
        // This test's own executable: a real ELF for the host.
        let exe = std::env::current_exe().unwrap_or_default();
        let bytes = std::fs::read(exe).unwrap_or_default();
        let info = parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        #[cfg(target_arch = "x86_64")]
        assert_eq!(info.architecture, "amd64");
        #[cfg(target_arch = "aarch64")]
        assert_eq!(info.architecture, "arm64");
    }

    #[test]
    fn non_elf_files_say_what_they_are() {
        for (bytes, says) in [
            (&b""[..], "empty"),
            (b"#!/bin/sh", "script"),
            (b"MZ\x90\x00", "Windows"),
            (b"\xcf\xfa\xed\xfe", "macOS"),
            (b"hello", "68 65 6c 6c"),
        ] {
            let err = parse(bytes).map(|_| ()).unwrap_err().to_string();
            assert!(err.contains(says), "{err}");
        }
    }
}
