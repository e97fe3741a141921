//! Links the static library `libtwotower.a` and its dependencies, found in this order:
//!
//! 1. `TWOTOWER_BUILD_DIR`: a CMake build directory of twotower (relative paths are taken from
//!    the repository root). Its `libtwotower.a` is linked; the dependencies come from the
//!    `twotower.pc` CMake wrote there.
//! 2. `TWOTOWER_PREFIX`: an install prefix (`cmake --install <build> --prefix P`); the
//!    dependencies come from `P/lib*/pkgconfig/twotower.pc`.
//! 3. Otherwise CMake configures and builds this repository's library (Release, without tests,
//!    tools or benchmarks) in `OUT_DIR`, and that build is used as in 1.
//!
//! The pkg-config file names the libraries (dnnl, gomp, stdc++, zstd, nettle, xxhash, tbb, ...):
//! nothing is hard-coded here. The header matching the linked library is exported to this
//! crate's own targets as `TWOTOWER_SYS_INCLUDE_DIR` (the layout test compiles against it) and
//! to dependents' build scripts as `DEP_TWOTOWER_INCLUDE`.
use std::env;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

type Result<T> = std::result::Result<T, String>;

fn main() {
    for var in ["TWOTOWER_BUILD_DIR", "TWOTOWER_PREFIX", "PKG_CONFIG", "PKG_CONFIG_PATH", "CMAKE", "CMAKE_GENERATOR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    println!("cargo:rerun-if-changed=build.rs");
    if let Err(message) = run() {
        eprintln!("error: twotower-sys: {message}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let root = repo_root();
    let native = if let Some(dir) = env_path("TWOTOWER_BUILD_DIR", &root) {
        from_build_dir(&dir, &root, "TWOTOWER_BUILD_DIR")?
    } else if let Some(prefix) = env_path("TWOTOWER_PREFIX", &root) {
        from_prefix(&prefix)?
    } else {
        let dir = build_with_cmake(&root)?;
        from_build_dir(&dir, &root, "the CMake build in OUT_DIR")?
    };
    emit(&native)
}

/// What pkg-config said, and which files to watch.
struct Native {
    libs: Vec<String>,
    include_dir: PathBuf,
    watch: Vec<PathBuf>,
}

fn repo_root() -> PathBuf {
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let root = manifest.join("../../..");
    root.canonicalize().unwrap_or(root)
}

fn env_path(var: &str, root: &Path) -> Option<PathBuf> {
    let value = env::var_os(var).filter(|v| !v.is_empty())?;
    let path = PathBuf::from(value);
    Some(if path.is_absolute() { path } else { root.join(path) })
}

fn from_build_dir(dir: &Path, root: &Path, what: &str) -> Result<Native> {
    let lib = dir.join("libtwotower.a");
    let pc = dir.join("twotower.pc");
    for needed in [&pc, &lib] {
        if !needed.is_file() {
            return Err(format!(
                "{what} = {} has no {}: configure and build it with CMake first \
                 (cmake -S <repo> -B <dir> && cmake --build <dir> --target twotower)",
                dir.display(),
                needed.file_name().unwrap().to_string_lossy()
            ));
        }
    }
    // The header of the tree this build was configured from (another checkout, maybe).
    let source = cmake_cache_value(&dir.join("CMakeCache.txt"), "twotower_SOURCE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.to_path_buf());
    let include_dir = source.join("include");
    // The build tree's .pc expects to be installed under lib/pkgconfig; point a copy of it at
    // the build tree instead.
    let text = fs::read_to_string(&pc).map_err(|e| format!("cannot read {}: {e}", pc.display()))?;
    let rewritten: String = text
        .lines()
        .map(|line| {
            if line.starts_with("libdir=") {
                format!("libdir={}\n", dir.display())
            } else if line.starts_with("includedir=") {
                format!("includedir={}\n", include_dir.display())
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("pkgconfig");
    fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    let local_pc = out.join("twotower.pc");
    fs::write(&local_pc, rewritten).map_err(|e| format!("cannot write {}: {e}", local_pc.display()))?;
    let libs = pkg_config(&local_pc, "--libs")?;
    Ok(Native { libs, include_dir: include_dir.clone(), watch: vec![lib, pc, include_dir.join("twotower/twotower.h")] })
}

fn from_prefix(prefix: &Path) -> Result<Native> {
    let mut candidates = vec![prefix.join("lib/pkgconfig"), prefix.join("lib64/pkgconfig")];
    if let Ok(entries) = fs::read_dir(prefix.join("lib")) {
        candidates.extend(entries.flatten().map(|e| e.path().join("pkgconfig")));
        // lib/<multiarch>/pkgconfig
    }
    let pc = candidates.iter().map(|d| d.join("twotower.pc")).find(|p| p.is_file()).ok_or_else(|| {
        format!(
            "TWOTOWER_PREFIX = {} has no lib/pkgconfig/twotower.pc: install twotower there with \
                 cmake --install <build dir> --prefix {}",
            prefix.display(),
            prefix.display()
        )
    })?;
    let libs = pkg_config(&pc, "--libs")?;
    let cflags = pkg_config(&pc, "--cflags")?;
    let include_dir = cflags
        .iter()
        .filter_map(|f| f.strip_prefix("-I"))
        .map(PathBuf::from)
        .find(|d| d.join("twotower/twotower.h").is_file())
        .ok_or_else(|| format!("{}: no -I directory in its Cflags holds twotower/twotower.h", pc.display()))?;
    let mut watch = vec![pc, include_dir.join("twotower/twotower.h")];
    watch.extend(libs.iter().filter(|t| t.ends_with(".a")).map(PathBuf::from));
    Ok(Native { libs, include_dir, watch })
}

fn build_with_cmake(root: &Path) -> Result<PathBuf> {
    if !root.join("CMakeLists.txt").is_file() || !root.join("include/twotower/twotower.h").is_file() {
        return Err(format!(
            "{} is not the twotower source tree, so the library cannot be built here: set \
             TWOTOWER_BUILD_DIR (a CMake build directory) or TWOTOWER_PREFIX (an install prefix)",
            root.display()
        ));
    }
    for watched in ["CMakeLists.txt", "cmake", "include", "lib"] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }
    let dir = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("cmake-build");
    let cmake = env::var("CMAKE").unwrap_or_else(|_| "cmake".into());
    if !dir.join("CMakeCache.txt").is_file() {
        let mut configure = Command::new(&cmake);
        configure.arg("-S").arg(root).arg("-B").arg(&dir).args([
            "-DCMAKE_BUILD_TYPE=Release",
            "-DTWOTOWER_BUILD_TESTS=OFF",
            "-DTWOTOWER_BUILD_TOOLS=OFF",
            "-DTWOTOWER_BUILD_BENCH=OFF",
        ]);
        if env::var_os("CMAKE_GENERATOR").is_none() && Command::new("ninja").arg("--version").output().is_ok() {
            configure.args(["-G", "Ninja"]);
        }
        run_command(configure, "configuring twotower with CMake (tools/install-deps.sh installs what it needs)")?;
    }
    let jobs = env::var("NUM_JOBS").unwrap_or_else(|_| "2".into());
    let mut build = Command::new(&cmake);
    build.arg("--build").arg(&dir).args(["--target", "twotower", "--parallel", &jobs]);
    run_command(build, "building libtwotower.a with CMake")?;
    Ok(dir)
}

fn run_command(mut command: Command, what: &str) -> Result<()> {
    let output = command.output().map_err(|e| format!("{what}: cannot run {command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what}: {command:?} failed ({})\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}

fn pkg_config(pc: &Path, query: &str) -> Result<Vec<String>> {
    let tool = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let output = Command::new(&tool)
        .arg(query)
        .arg(pc)
        .output()
        .map_err(|e| format!("cannot run {tool} (apt-get install pkgconf): {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "{tool} {query} {} failed: {}",
            pc.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).split_whitespace().map(str::to_owned).collect())
}

fn cmake_cache_value(cache: &Path, key: &str) -> Option<String> {
    let text = fs::read_to_string(cache).ok()?;
    text.lines().find_map(|line| {
        let (name, value) = line.split_once('=')?;
        (name.split(':').next() == Some(key)).then(|| value.to_owned())
    })
}

/// Turns pkg-config's `--libs` into cargo directives: a path to a `.a` is linked statically
/// (by name, from its directory: rustc bundles it into this crate's rlib), `-l` dynamically.
fn emit(native: &Native) -> Result<()> {
    for token in &native.libs {
        if let Some(dir) = token.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
        } else if let Some(name) = token.strip_prefix("-l") {
            println!("cargo:rustc-link-lib={name}");
        } else if token == "-pthread" {
            println!("cargo:rustc-link-lib=pthread");
        } else if token.ends_with(".a") {
            let path = Path::new(token);
            let file = path.file_name().unwrap_or_default().to_string_lossy();
            let name = file.strip_prefix("lib").and_then(|f| f.strip_suffix(".a"));
            let (Some(name), Some(dir)) = (name, path.parent()) else {
                return Err(format!("pkg-config named a static library cargo cannot link by name: {token}"));
            };
            println!("cargo:rustc-link-search=native={}", dir.display());
            println!("cargo:rustc-link-lib=static={name}");
        } else {
            return Err(format!(
                "pkg-config --libs gave '{token}', which this build script does not know how to pass on"
            ));
        }
    }
    for path in &native.watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    println!("cargo:rustc-env=TWOTOWER_SYS_INCLUDE_DIR={}", native.include_dir.display());
    println!("cargo:include={}", native.include_dir.display());
    Ok(())
}
