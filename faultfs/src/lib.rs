//! A fault-injecting SQLite VFS, for tests only: it wraps the platform's
//! default VFS and, once installed as the default, sits under every
//! connection the core opens (under SQLCipher's encryption, so it sees the
//! encrypted pages the file really holds).
//!
//! - **Power cuts** (lazy mode): a write is kept in memory until the file is
//!   synced, as an OS page cache keeps it until `fsync`; reads see it. At
//!   the cut (after a chosen number of writes and syncs) each unsynced write
//!   is kept, dropped or torn at a 512-byte sector, at random, and the
//!   process exits at once: what reaches the file is exactly what a phone
//!   losing power could leave. A SIGKILL cannot test this: the kernel keeps
//!   a killed process's writes. (The approach of LazyFS and of SQLite's own
//!   crash tests.)
//! - **A full disk**: writes that would grow the files past a quota fail
//!   with `SQLITE_FULL`, until the quota is lifted.
//! - **I/O errors**: reads or writes fail with `SQLITE_IOERR_*` while set.
//!
//! Shared memory (the WAL index) and locks pass straight through: they are
//! not durable on a phone either, and SQLite rebuilds the index from the log.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void};
use std::ptr;
use std::sync::Mutex;

use rusqlite::ffi;

/// What the process exits with at a simulated power cut.
pub const CUT_EXIT_CODE: i32 = 75;

/// How the VFS misbehaves. Everything off is a plain pass-through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Config {
    pub seed: u64,
    /// Keep unsynced writes in memory and cut the power after this many
    /// writes and syncs (counted over every file).
    pub cut_after_ops: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    NoDefaultVfs,
    RegisterFailed(c_int),
    AlreadyInstalled,
}

struct Pending {
    offset: i64,
    data: Vec<u8>,
}

/// One file on disk, shared by every handle open on it (as the OS page
/// cache is: a reader sees what another connection wrote, synced or not).
struct PathState {
    /// Size as SQLite sees it (pending writes included).
    size: i64,
    /// Unsynced writes, oldest first (lazy mode only).
    pending: Vec<Pending>,
    /// Open handles on it.
    handles: usize,
}

/// One open handle: which file, and the base VFS's handle.
struct Handle {
    path: String,
    real: *mut ffi::sqlite3_file,
}

// SAFETY: the real file handle is only used under the state's mutex, and
// SQLite's unix files may be used from any thread.
unsafe impl Send for Handle {}

struct State {
    config: Config,
    rng: fastrand::Rng,
    ops: u64,
    quota: Option<i64>,
    fail_reads: bool,
    fail_writes: bool,
    next_id: u64,
    handles: HashMap<u64, Handle>,
    paths: HashMap<String, PathState>,
}

impl State {
    /// In `0..n`, from the configured seed; 0 when `n` is 0.
    fn roll(&mut self, n: u64) -> u64 {
        self.rng.u64(..n.max(1))
    }

    fn lazy(&self) -> bool {
        self.config.cut_after_ops.is_some()
    }

    fn used(&self) -> i64 {
        self.paths.values().map(|f| f.size).sum()
    }

    fn path_of(&self, id: u64) -> Option<&str> {
        self.handles.get(&id).map(|h| h.path.as_str())
    }

    /// Counts one write or sync; at the chosen one, the power goes.
    fn tick(&mut self) {
        self.ops += 1;
        if self.config.cut_after_ops.is_some_and(|at| self.ops >= at) {
            self.cut();
        }
    }

    /// Each unsynced write reaches the file whole, not at all, or torn at a
    /// sector; then the process is gone.
    fn cut(&mut self) -> ! {
        let paths: Vec<String> = self.paths.keys().cloned().collect();
        for path in paths {
            let Some(real) = self.handles.values().find(|h| h.path == path).map(|h| h.real) else {
                continue;
            };
            let Some(file) = self.paths.get_mut(&path) else {
                continue;
            };
            let pending = std::mem::take(&mut file.pending);
            for w in pending {
                let keep = match self.roll(4) {
                    0 | 1 => w.data.len(),
                    2 => 0,
                    _ => (self.roll((w.data.len() / 512) as u64 + 1) as usize) * 512,
                };
                if keep > 0 {
                    // SAFETY: the real file is open until its xClose.
                    unsafe { real_write(real, &w.data[..keep], w.offset) };
                }
            }
        }
        std::process::exit(CUT_EXIT_CODE)
    }
}

static STATE: Mutex<Option<State>> = Mutex::new(None);
/// The VFS we wrap (the platform default when installed).
static BASE: Mutex<usize> = Mutex::new(0);

fn state() -> std::sync::MutexGuard<'static, Option<State>> {
    STATE.lock().unwrap_or_else(|p| p.into_inner())
}

fn base() -> *mut ffi::sqlite3_vfs {
    *BASE.lock().unwrap_or_else(|p| p.into_inner()) as *mut ffi::sqlite3_vfs
}

/// Installs the VFS as the process's default, for every connection opened
/// from now on. Once per process.
pub fn install(config: Config) -> Result<(), InstallError> {
    let mut st = state();
    if st.is_some() {
        return Err(InstallError::AlreadyInstalled);
    }
    // SAFETY: plain SQLite API calls; the VFS struct is leaked, so it lives
    // as long as the process, as SQLite requires.
    unsafe {
        let base = ffi::sqlite3_vfs_find(ptr::null());
        if base.is_null() {
            return Err(InstallError::NoDefaultVfs);
        }
        *BASE.lock().unwrap_or_else(|p| p.into_inner()) = base as usize;
        let vfs = Box::leak(Box::new(ffi::sqlite3_vfs {
            iVersion: 2,
            szOsFile: (std::mem::size_of::<ShimFile>() as c_int) + (*base).szOsFile,
            mxPathname: (*base).mxPathname,
            pNext: ptr::null_mut(),
            zName: c"guardian-faultfs".as_ptr(),
            pAppData: ptr::null_mut(),
            xOpen: Some(x_open),
            xDelete: Some(x_delete),
            xAccess: Some(x_access),
            xFullPathname: Some(x_full_pathname),
            xDlOpen: None,
            xDlError: None,
            xDlSym: None,
            xDlClose: None,
            xRandomness: Some(x_randomness),
            xSleep: Some(x_sleep),
            xCurrentTime: Some(x_current_time),
            xGetLastError: Some(x_get_last_error),
            xCurrentTimeInt64: Some(x_current_time_int64),
            xSetSystemCall: None,
            xGetSystemCall: None,
            xNextSystemCall: None,
        }));
        let rc = ffi::sqlite3_vfs_register(vfs, 1);
        if rc != ffi::SQLITE_OK {
            return Err(InstallError::RegisterFailed(rc));
        }
    }
    *st = Some(State {
        config,
        rng: fastrand::Rng::with_seed(config.seed ^ 0x9e37_79b9_7f4a_7c15),
        ops: 0,
        quota: None,
        fail_reads: false,
        fail_writes: false,
        next_id: 1,
        handles: HashMap::new(),
        paths: HashMap::new(),
    });
    Ok(())
}

/// Limits the files' total size (a nearly full disk); `None` lifts it.
pub fn set_quota(bytes: Option<u64>) {
    if let Some(s) = state().as_mut() {
        s.quota = bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    }
}

/// The files' total size now, as SQLite sees it.
pub fn used_bytes() -> u64 {
    state().as_ref().map_or(0, |s| s.used().max(0) as u64)
}

pub fn fail_reads(on: bool) {
    if let Some(s) = state().as_mut() {
        s.fail_reads = on;
    }
}

pub fn fail_writes(on: bool) {
    if let Some(s) = state().as_mut() {
        s.fail_writes = on;
    }
}

/// Writes and syncs counted so far (to choose where a cut falls).
pub fn ops() -> u64 {
    state().as_ref().map_or(0, |s| s.ops)
}

#[repr(C)]
struct ShimFile {
    base: ffi::sqlite3_file,
    id: u64,
    real: *mut ffi::sqlite3_file,
}

static IO_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 2,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: None,
    xUnfetch: None,
};

/// The wrapped file's methods.
unsafe fn methods(real: *mut ffi::sqlite3_file) -> &'static ffi::sqlite3_io_methods {
    // SAFETY: an open file's pMethods is set by the base VFS and static.
    unsafe { &*(*real).pMethods }
}

unsafe fn real_of(f: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    // SAFETY: every file SQLite hands these methods was made by x_open.
    unsafe { (*(f as *mut ShimFile)).real }
}

unsafe fn id_of(f: *mut ffi::sqlite3_file) -> u64 {
    // SAFETY: as above.
    unsafe { (*(f as *mut ShimFile)).id }
}

unsafe fn real_write(real: *mut ffi::sqlite3_file, data: &[u8], offset: i64) -> c_int {
    // SAFETY: the caller holds an open real file.
    unsafe {
        match methods(real).xWrite {
            Some(w) => w(real, data.as_ptr().cast(), data.len() as c_int, offset),
            None => ffi::SQLITE_IOERR_WRITE,
        }
    }
}

unsafe fn real_size(real: *mut ffi::sqlite3_file) -> i64 {
    let mut size: ffi::sqlite3_int64 = 0;
    // SAFETY: the caller holds an open real file.
    unsafe {
        if let Some(f) = methods(real).xFileSize {
            f(real, &mut size);
        }
    }
    size
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let base = base();
    // SAFETY: SQLite allocated szOsFile bytes at `file`: our header, then
    // room for the base VFS's own file.
    unsafe {
        let shim = file as *mut ShimFile;
        let real = (file as *mut u8).add(std::mem::size_of::<ShimFile>()) as *mut ffi::sqlite3_file;
        (*shim).base.pMethods = ptr::null();
        let Some(open) = (*base).xOpen else {
            return ffi::SQLITE_CANTOPEN;
        };
        let rc = open(base, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK || (*real).pMethods.is_null() {
            return rc;
        }
        let mut st = state();
        let Some(s) = st.as_mut() else {
            return ffi::SQLITE_CANTOPEN;
        };
        let id = s.next_id;
        s.next_id += 1;
        // Nameless files are SQLite's own temporaries: one each.
        let path = if name.is_null() {
            format!("\0temp-{id}")
        } else {
            std::ffi::CStr::from_ptr(name).to_string_lossy().into_owned()
        };
        let size = real_size(real);
        let entry = s.paths.entry(path.clone()).or_insert(PathState {
            size,
            pending: Vec::new(),
            handles: 0,
        });
        entry.handles += 1;
        s.handles.insert(id, Handle { path, real });
        (*shim).id = id;
        (*shim).real = real;
        (*shim).base.pMethods = &IO_METHODS;
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn x_close(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        let id = id_of(f);
        let mut st = state();
        if let Some(s) = st.as_mut()
            && let Some(handle) = s.handles.remove(&id)
            && let Some(file) = s.paths.get_mut(&handle.path)
        {
            file.handles -= 1;
            if file.handles == 0
                && let Some(file) = s.paths.remove(&handle.path)
            {
                // The last handle closed unsynced: the writes go to the OS
                // (SQLite syncs what matters before it closes a file).
                for w in file.pending {
                    real_write(real, &w.data, w.offset);
                }
            }
        }
        drop(st);
        match methods(real).xClose {
            Some(c) => c(real),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn x_read(f: *mut ffi::sqlite3_file, buf: *mut c_void, amt: c_int, off: i64) -> c_int {
    // SAFETY: f was opened by x_open; buf holds amt bytes.
    unsafe {
        let real = real_of(f);
        let id = id_of(f);
        let mut st = state();
        let Some(s) = st.as_mut() else {
            return ffi::SQLITE_IOERR_READ;
        };
        if s.fail_reads {
            return ffi::SQLITE_IOERR_READ;
        }
        let Some(read) = methods(real).xRead else {
            return ffi::SQLITE_IOERR_READ;
        };
        let rc = read(real, buf, amt, off);
        if rc != ffi::SQLITE_OK && rc != ffi::SQLITE_IOERR_SHORT_READ {
            return rc;
        }
        let Some(file) = s.path_of(id).and_then(|p| s.paths.get(p)) else {
            return rc;
        };
        if file.pending.is_empty() {
            return rc;
        }
        let out = std::slice::from_raw_parts_mut(buf as *mut u8, amt as usize);
        let end = off + i64::from(amt);
        for w in &file.pending {
            let w_end = w.offset + w.data.len() as i64;
            let (from, to) = (off.max(w.offset), end.min(w_end));
            if from < to {
                out[(from - off) as usize..(to - off) as usize]
                    .copy_from_slice(&w.data[(from - w.offset) as usize..(to - w.offset) as usize]);
            }
        }
        if file.size >= end {
            ffi::SQLITE_OK
        } else {
            let valid = (file.size - off).clamp(0, i64::from(amt)) as usize;
            out[valid..].fill(0);
            ffi::SQLITE_IOERR_SHORT_READ
        }
    }
}

unsafe extern "C" fn x_write(f: *mut ffi::sqlite3_file, buf: *const c_void, amt: c_int, off: i64) -> c_int {
    // SAFETY: f was opened by x_open; buf holds amt bytes.
    unsafe {
        let real = real_of(f);
        let id = id_of(f);
        let mut st = state();
        let Some(s) = st.as_mut() else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if s.fail_writes {
            return ffi::SQLITE_IOERR_WRITE;
        }
        let end = off + i64::from(amt);
        let path = s.path_of(id).map(str::to_owned).unwrap_or_default();
        let grows = s.paths.get(&path).map_or(0, |file| (end - file.size).max(0));
        if let Some(quota) = s.quota
            && grows > 0
            && s.used() + grows > quota
        {
            return ffi::SQLITE_FULL;
        }
        s.tick();
        let data = std::slice::from_raw_parts(buf as *const u8, amt as usize);
        let lazy = s.lazy();
        let Some(file) = s.paths.get_mut(&path) else {
            return real_write(real, data, off);
        };
        file.size = file.size.max(end);
        if lazy {
            file.pending.push(Pending {
                offset: off,
                data: data.to_vec(),
            });
            ffi::SQLITE_OK
        } else {
            real_write(real, data, off)
        }
    }
}

unsafe extern "C" fn x_truncate(f: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        let id = id_of(f);
        let mut st = state();
        let path = st.as_ref().and_then(|s| s.path_of(id)).map(str::to_owned);
        if let Some(file) = st.as_mut().zip(path).and_then(|(s, p)| s.paths.get_mut(&p)) {
            file.size = size;
            for w in &mut file.pending {
                let keep = (size - w.offset).clamp(0, w.data.len() as i64) as usize;
                w.data.truncate(keep);
            }
            file.pending.retain(|w| !w.data.is_empty());
        }
        drop(st);
        match methods(real).xTruncate {
            Some(t) => t(real, size),
            None => ffi::SQLITE_IOERR_TRUNCATE,
        }
    }
}

unsafe extern "C" fn x_sync(f: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        let id = id_of(f);
        let mut st = state();
        if let Some(s) = st.as_mut() {
            if s.fail_writes {
                return ffi::SQLITE_IOERR_FSYNC;
            }
            s.tick();
            let path = s.path_of(id).map(str::to_owned).unwrap_or_default();
            if let Some(file) = s.paths.get_mut(&path) {
                for w in std::mem::take(&mut file.pending) {
                    let rc = real_write(real, &w.data, w.offset);
                    if rc != ffi::SQLITE_OK {
                        return rc;
                    }
                }
            }
        }
        drop(st);
        match methods(real).xSync {
            Some(sync) => sync(real, flags),
            None => ffi::SQLITE_OK,
        }
    }
}

unsafe extern "C" fn x_file_size(f: *mut ffi::sqlite3_file, out: *mut i64) -> c_int {
    // SAFETY: f was opened by x_open; out is writable.
    unsafe {
        let id = id_of(f);
        let st = state();
        if let Some(file) = st.as_ref().and_then(|s| s.path_of(id).and_then(|p| s.paths.get(p))) {
            *out = file.size;
            return ffi::SQLITE_OK;
        }
        drop(st);
        let real = real_of(f);
        match methods(real).xFileSize {
            Some(size) => size(real, out),
            None => ffi::SQLITE_IOERR_FSTAT,
        }
    }
}

// Locks, file controls and shared memory: straight through.

unsafe extern "C" fn x_lock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real).xLock.map_or(ffi::SQLITE_OK, |m| m(real, level))
    }
}

unsafe extern "C" fn x_unlock(f: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real).xUnlock.map_or(ffi::SQLITE_OK, |m| m(real, level))
    }
}

unsafe extern "C" fn x_check_reserved_lock(f: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real)
            .xCheckReservedLock
            .map_or(ffi::SQLITE_OK, |m| m(real, out))
    }
}

unsafe extern "C" fn x_file_control(f: *mut ffi::sqlite3_file, op: c_int, arg: *mut c_void) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real)
            .xFileControl
            .map_or(ffi::SQLITE_NOTFOUND, |m| m(real, op, arg))
    }
}

unsafe extern "C" fn x_sector_size(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real).xSectorSize.map_or(512, |m| m(real))
    }
}

unsafe extern "C" fn x_device_characteristics(f: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real).xDeviceCharacteristics.map_or(0, |m| m(real))
    }
}

unsafe extern "C" fn x_shm_map(
    f: *mut ffi::sqlite3_file,
    pg: c_int,
    sz: c_int,
    ext: c_int,
    out: *mut *mut c_void,
) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real)
            .xShmMap
            .map_or(ffi::SQLITE_IOERR_SHMMAP, |m| m(real, pg, sz, ext, out))
    }
}

unsafe extern "C" fn x_shm_lock(f: *mut ffi::sqlite3_file, off: c_int, n: c_int, flags: c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real)
            .xShmLock
            .map_or(ffi::SQLITE_IOERR_SHMLOCK, |m| m(real, off, n, flags))
    }
}

unsafe extern "C" fn x_shm_barrier(f: *mut ffi::sqlite3_file) {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        if let Some(m) = methods(real).xShmBarrier {
            m(real);
        }
    }
}

unsafe extern "C" fn x_shm_unmap(f: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    // SAFETY: f was opened by x_open.
    unsafe {
        let real = real_of(f);
        methods(real).xShmUnmap.map_or(ffi::SQLITE_OK, |m| m(real, delete))
    }
}

// The VFS's own calls: the base VFS's.

unsafe extern "C" fn x_delete(_vfs: *mut ffi::sqlite3_vfs, name: *const c_char, sync_dir: c_int) -> c_int {
    let base = base();
    // SAFETY: forwarding SQLite's arguments to the VFS we wrap.
    unsafe {
        (*base)
            .xDelete
            .map_or(ffi::SQLITE_IOERR_DELETE, |m| m(base, name, sync_dir))
    }
}

unsafe extern "C" fn x_access(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe {
        (*base)
            .xAccess
            .map_or(ffi::SQLITE_IOERR_ACCESS, |m| m(base, name, flags, out))
    }
}

unsafe extern "C" fn x_full_pathname(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe {
        (*base)
            .xFullPathname
            .map_or(ffi::SQLITE_CANTOPEN, |m| m(base, name, n, out))
    }
}

unsafe extern "C" fn x_randomness(_vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe { (*base).xRandomness.map_or(0, |m| m(base, n, out)) }
}

unsafe extern "C" fn x_sleep(_vfs: *mut ffi::sqlite3_vfs, micros: c_int) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe { (*base).xSleep.map_or(0, |m| m(base, micros)) }
}

unsafe extern "C" fn x_current_time(_vfs: *mut ffi::sqlite3_vfs, out: *mut f64) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe { (*base).xCurrentTime.map_or(ffi::SQLITE_ERROR, |m| m(base, out)) }
}

unsafe extern "C" fn x_get_last_error(_vfs: *mut ffi::sqlite3_vfs, n: c_int, out: *mut c_char) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe { (*base).xGetLastError.map_or(0, |m| m(base, n, out)) }
}

unsafe extern "C" fn x_current_time_int64(_vfs: *mut ffi::sqlite3_vfs, out: *mut ffi::sqlite3_int64) -> c_int {
    let base = base();
    // SAFETY: as above.
    unsafe { (*base).xCurrentTimeInt64.map_or(ffi::SQLITE_ERROR, |m| m(base, out)) }
}
