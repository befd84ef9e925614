//! Writing certificate/key pairs so that a reader never sees half a file, and
//! never a private key with loose permissions.
//!
//! Each file is written to a temporary file in the same directory (created
//! with its final mode, so a key is never readable by others, not even for a
//! moment), synced, then renamed over the destination; rename within one
//! directory is atomic on POSIX file systems.
//!
//! Two renames are not atomic as a pair. The order is fixed: **both temporary
//! files are complete before either rename; the key is renamed first, the
//! certificate last.** The certificate's rename is the commit point. A server
//! that reloads when the certificate changes therefore always finds the new
//! key already in place; a server that reloads on any change may, between the
//! two renames, see the new key beside the old certificate — the pair does not
//! match ([`super::check_pair`]) and it must keep serving its current pair and
//! retry. It can never load a new certificate with the old key.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::PkiError;

/// Mode of private key files.
pub const KEY_MODE: u32 = 0o600;
/// Mode of certificate files.
pub const CERT_MODE: u32 = 0o644;
/// Mode of a directory this module creates.
const DIR_MODE: u32 = 0o700;

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> PkiError + '_ {
    move |source| PkiError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Creates `dir` (and its parents) with mode 0700 if it does not exist.
pub(crate) fn ensure_dir(dir: &Path) -> Result<(), PkiError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .map_err(io_error(dir))
}

/// Reads a whole file.
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    fs::read(path).map_err(io_error(path))
}

/// Whether a file or anything else exists at `path` (a dangling symlink too).
pub(crate) fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

/// The permission bits of `path`.
pub(crate) fn mode(path: &Path) -> Result<u32, PkiError> {
    Ok(fs::metadata(path).map_err(io_error(path))?.permissions().mode() & 0o7777)
}

/// A temporary file beside its destination; removed on drop unless renamed.
struct Temp {
    path: PathBuf,
    dest: PathBuf,
    renamed: bool,
}

impl Temp {
    fn write(dest: &Path, contents: &[u8], mode: u32) -> Result<Self, PkiError> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let dir = dest
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = dest.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
        let mut attempt = 0;
        let (path, mut file) = loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
            match OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
            {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
                Err(e) => return Err(io_error(&path)(e)),
            }
        };
        let temp = Temp {
            path,
            dest: dest.to_path_buf(),
            renamed: false,
        };
        // The umask can only clear bits; set them exactly anyway.
        let finish = |file: &mut File| -> io::Result<()> {
            file.set_permissions(fs::Permissions::from_mode(mode))?;
            file.write_all(contents)?;
            file.sync_all()
        };
        finish(&mut file).map_err(io_error(&temp.path))?;
        Ok(temp)
    }

    fn commit(mut self) -> Result<(), PkiError> {
        fs::rename(&self.path, &self.dest).map_err(io_error(&self.dest))?;
        self.renamed = true;
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), PkiError> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(io_error(dir))
}

/// Writes a key and its certificate: both temporary files first, then the key
/// renamed into place, then the certificate (see the module documentation).
pub(crate) fn write_pair(
    key_path: &Path,
    key_pem: &[u8],
    cert_path: &Path,
    cert_pem: &[u8],
) -> Result<(), PkiError> {
    let key = Temp::write(key_path, key_pem, KEY_MODE)?;
    let cert = Temp::write(cert_path, cert_pem, CERT_MODE)?;
    key.commit()?;
    cert.commit().map_err(|e| PkiError::HalfWritten {
        key: key_path.to_path_buf(),
        cert: cert_path.to_path_buf(),
        source: Box::new(e),
    })?;
    let dir = cert_path.parent().filter(|d| !d.as_os_str().is_empty());
    sync_dir(dir.unwrap_or(Path::new(".")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_is_written_with_modes_and_no_temporary_files_remain() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("x.key");
        let cert = dir.path().join("x.crt");
        write_pair(&key, b"k1", &cert, b"c1").unwrap();
        write_pair(&key, b"k2", &cert, b"c2").unwrap();
        assert_eq!(fs::read(&key).unwrap(), b"k2");
        assert_eq!(fs::read(&cert).unwrap(), b"c2");
        assert_eq!(mode(&key).unwrap(), KEY_MODE);
        assert_eq!(mode(&cert).unwrap(), CERT_MODE);
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn existing_loose_key_file_is_replaced_by_a_0600_one() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("x.key");
        fs::write(&key, b"old").unwrap();
        fs::set_permissions(&key, fs::Permissions::from_mode(0o644)).unwrap();
        write_pair(&key, b"new", &dir.path().join("x.crt"), b"c").unwrap();
        assert_eq!(mode(&key).unwrap(), KEY_MODE);
    }
}
