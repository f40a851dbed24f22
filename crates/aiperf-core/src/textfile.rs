//! The one way aiperf opens a text file the user gave it (dataset files, tokenizer.json, system
//! prompt files, payload templates, plugin manifests): gzip-decoded when the name ends in `.gz`,
//! and without a leading UTF-8 byte-order mark, which Windows editors add and JSON and YAML
//! parsers reject ("expected value at line 1 column 1").

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The UTF-8 byte-order mark.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// A buffered reader over `path`'s text: decompressed when the name ends in `.gz`, with a
/// leading byte-order mark skipped.
pub fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let file = std::fs::File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        without_bom(flate2::read::GzDecoder::new(file))
    } else {
        without_bom(file)
    }
}

/// The whole text of `path` (see [`open`]); an error when it is not UTF-8.
pub fn read_to_string(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    open(path)?.read_to_string(&mut text)?;
    Ok(text)
}

/// `reader`, buffered, without a byte-order mark at its start.
pub fn without_bom<R: Read + Send + 'static>(
    mut reader: R,
) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut head = [0u8; 3];
    let mut n = 0;
    while n < head.len() {
        match reader.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let kept = if head[..n] == *BOM {
        &[][..]
    } else {
        &head[..n]
    };
    let rest = std::io::Cursor::new(kept.to_vec()).chain(reader);
    Ok(Box::new(BufReader::with_capacity(1 << 16, rest)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_leading_bom_is_skipped_and_nothing_else_changes() {
        let dir = std::env::temp_dir().join(format!("aiperf-textfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases: [(&[u8], &str); 5] = [
            (b"\xEF\xBB\xBF{\"a\": 1}\n", "{\"a\": 1}\n"),
            (b"{\"a\": 1}\n", "{\"a\": 1}\n"),
            (b"\xEF\xBB\xBF", ""),
            (b"ab", "ab"),
            (b"", ""),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = dir.join(format!("{i}.txt"));
            std::fs::write(&p, bytes).unwrap();
            assert_eq!(read_to_string(&p).unwrap(), *want, "{bytes:?}");
            // The same through gzip.
            let gz = dir.join(format!("{i}.jsonl.gz"));
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            std::io::Write::write_all(&mut enc, bytes).unwrap();
            std::fs::write(&gz, enc.finish().unwrap()).unwrap();
            assert_eq!(read_to_string(&gz).unwrap(), *want, "gz {bytes:?}");
        }
        // A mark in the middle is text, not a mark.
        let p = dir.join("mid.txt");
        std::fs::write(&p, b"a\xEF\xBB\xBFb").unwrap();
        assert_eq!(read_to_string(&p).unwrap(), "a\u{feff}b");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
