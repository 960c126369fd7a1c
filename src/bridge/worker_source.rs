//! The bridge worker's Python package, compiled into the binary so `serve`
//! needs no checkout, and written out where an interpreter can run it.
//!
//! The package is `iris/iriswire_worker/` in the source tree. At start-up
//! its files are written side by side under `<data_dir>/.bridge/`, and a
//! worker is started as `python3 <data_dir>/.bridge/iriswire_worker`:
//! Python runs a directory through its `__main__.py`. `bridge.worker_script`
//! replaces all this with a package directory of the operator's own.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The package's directory name, in `iris/` and under `<data_dir>/.bridge/`.
const PACKAGE_DIR: &str = "iriswire_worker";

/// One file of the package: where it goes, relative to the package
/// directory, and what it says.
#[derive(Debug, Clone, Copy)]
struct SourceFile {
    path: &'static str,
    text: &'static str,
}

/// `SourceFile`s for paths relative to `iris/iriswire_worker/`.
macro_rules! package_files {
    ($($path:literal),* $(,)?) => {
        &[$(SourceFile {
            path: $path,
            text: include_str!(concat!("../../iris/iriswire_worker/", $path)),
        }),*]
    };
}

/// Every file of the package. A module added to the package must be added
/// here too; a test compares this list with the directory.
const PACKAGE_FILES: &[SourceFile] = package_files![
    "__init__.py",
    "__main__.py",
    "cancel.py",
    "catalog.py",
    "catalog_build.py",
    "catalog_columns.py",
    "catalog_functions.py",
    "catalog_sql.py",
    "catalog_srf.py",
    "catalog_tables.py",
    "catalog_types.py",
    "constraints.py",
    "iris_error_text.py",
    "iris_errors.py",
    "iris_returning.py",
    "lock_wait.py",
    "pg_functions.py",
    "protocol.py",
    "request_loop.py",
    "sandbox.py",
    "schema_iris.py",
    "schema_reader.py",
    "schema_sqlite.py",
    "session_functions.py",
    "sql_text.py",
    "sql_tokens.py",
    "sqlite_errors.py",
    "vector.py",
    "drivers/__init__.py",
    "drivers/base.py",
    "drivers/iris_common.py",
    "drivers/iris_embedded.py",
    "drivers/iris_native.py",
    "drivers/sqlite.py",
];

/// What a worker runs: `configured` (`bridge.worker_script`, a package
/// directory) as given, else the embedded package written out under
/// `<data_dir>/.bridge/`.
pub(crate) fn worker_entry(configured: Option<&Path>, data_dir: &Path) -> io::Result<PathBuf> {
    match configured {
        Some(path) => Ok(path.to_path_buf()),
        None => write_package(&data_dir.join(".bridge")),
    }
}

/// Writes the package into `dir` and returns the package directory. Only
/// files whose content differs are written, each atomically (a temporary
/// file renamed over it), so a worker starting meanwhile, from another
/// server on the same data directory, never reads a half-written file.
fn write_package(dir: &Path) -> io::Result<PathBuf> {
    let package = dir.join(PACKAGE_DIR);
    for file in PACKAGE_FILES {
        write_if_changed(&package.join(file.path), file.text)?;
    }
    Ok(package)
}

fn write_if_changed(path: &Path, text: &str) -> io::Result<()> {
    if std::fs::read(path).ok().as_deref() == Some(text.as_bytes()) {
        return Ok(());
    }
    // Distinct per process and per call, so concurrent writers never share
    // a temporary file; its suffix is not `.py`, so nothing imports it.
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(
        "{name}.{}.{}",
        std::process::id(),
        WRITES.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `.py` files under `dir`, relative to it, `/`-separated.
    fn python_files(dir: &Path, prefix: &str, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).expect("readable package directory") {
            let entry = entry.expect("directory entry");
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            if path.is_dir() {
                if name != "__pycache__" {
                    python_files(&path, &format!("{prefix}{name}/"), found);
                }
            } else if name.ends_with(".py") {
                found.push(format!("{prefix}{name}"));
            }
        }
    }

    #[test]
    fn every_module_of_the_package_is_embedded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("iris")
            .join(PACKAGE_DIR);
        let mut on_disk = Vec::new();
        python_files(&dir, "", &mut on_disk);
        on_disk.sort();
        let mut embedded: Vec<String> = PACKAGE_FILES.iter().map(|f| f.path.into()).collect();
        embedded.sort();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_package_is_written_once_and_repaired() {
        let data = tempfile::tempdir().expect("temporary directory");
        let package = worker_entry(None, data.path()).expect("written");
        assert_eq!(package, data.path().join(".bridge").join(PACKAGE_DIR));
        for file in PACKAGE_FILES {
            let text = std::fs::read_to_string(package.join(file.path)).expect("file written");
            assert_eq!(text, file.text, "{}", file.path);
        }
        let main = package.join("__main__.py");
        let unchanged = std::fs::metadata(&main).and_then(|m| m.modified()).ok();
        std::fs::write(package.join("protocol.py"), "edited").expect("edit");
        worker_entry(None, data.path()).expect("written again");
        assert_eq!(
            std::fs::metadata(&main).and_then(|m| m.modified()).ok(),
            unchanged,
            "an unchanged file is not rewritten"
        );
        let repaired = std::fs::read_to_string(package.join("protocol.py")).expect("read");
        assert!(
            repaired.contains("PROTOCOL_VERSION"),
            "a changed file is rewritten"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&package)
            .expect("package directory")
            .filter_map(|e| e.ok())
            .filter(|e| !e.file_name().to_string_lossy().ends_with(".py") && e.path().is_file())
            .collect();
        assert!(leftovers.is_empty(), "no temporary files left behind");
    }

    #[test]
    fn a_configured_entry_is_used_as_given() {
        let data = tempfile::tempdir().expect("temporary directory");
        let entry = worker_entry(
            Some(Path::new("/opt/iriswire/iriswire_worker")),
            data.path(),
        )
        .expect("nothing to write");
        assert_eq!(entry, Path::new("/opt/iriswire/iriswire_worker"));
        assert!(!data.path().join(".bridge").exists());
    }
}
