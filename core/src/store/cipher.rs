//! SQLCipher's crypto provider, on the RustCrypto crates.
//!
//! SQLCipher asks a provider for five things: random bytes, HMAC, PBKDF2,
//! AES-256-CBC without padding, and the sizes that go with them. Its stock
//! provider is OpenSSL 3, and linking OpenSSL's default provider pulls in
//! every algorithm OpenSSL has (4.4 MB of a 12.4 MB phone library). This
//! provider answers the same five questions with `aes`, `cbc`, `hmac`, `sha1`,
//! `sha2`, `pbkdf2` and `getrandom`, so the file format is unchanged: files
//! written by stock SQLCipher on OpenSSL open and take writes here
//! (`core/tests/fixtures/`), and each primitive answers its published test
//! vectors.
//!
//! SQLCipher picks it up at build time: `.cargo/config.toml` sets
//! `LIBSQLITE3_FLAGS=-DSQLCIPHER_CRYPTO_CUSTOM=guardian_sqlcipher_setup`, and
//! SQLCipher calls [`guardian_sqlcipher_setup`] once, from
//! `sqlite3_initialize`. On Apple targets SQLCipher prefers CommonCrypto,
//! which the OS ships, and this provider goes unused. A build without the
//! flag falls back to OpenSSL and still reads the same files;
//! [`PROVIDER_NAME`] tells which one runs (`PRAGMA cipher_provider`).
//!
//! Every entry point is `extern "C"` and called by C: none may unwind, so
//! each body runs under `catch_unwind` and answers `SQLITE_ERROR` instead.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use aes::Aes256;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// What `PRAGMA cipher_provider` answers when this provider is in use.
pub const PROVIDER_NAME: &str = "guardian-rustcrypto";

const NAME: &CStr = c"guardian-rustcrypto";
const VERSION: &CStr = c"aes 0.8, cbc 0.1, hmac 0.12, sha2 0.10, pbkdf2 0.12";
const CIPHER: &CStr = c"aes-256-cbc";

// The values SQLCipher's header gives these (sqlcipher.h).
const SQLITE_OK: c_int = 0;
const SQLITE_ERROR: c_int = 1;
const SQLCIPHER_ENCRYPT: c_int = 1;
const SQLCIPHER_DECRYPT: c_int = 0;
const HMAC_SHA1: c_int = 0;
const HMAC_SHA256: c_int = 1;
const HMAC_SHA512: c_int = 2;
// PBKDF2 algorithms use the same numbering as the HMACs they run on.

const KEY_SIZE: usize = 32;
const BLOCK_SIZE: usize = 16;

type ProviderFn<T> = Option<T>;

/// SQLCipher's `struct sqlcipher_provider`, field for field.
#[repr(C)]
pub struct SqlcipherProvider {
    init: ProviderFn<unsafe extern "C" fn() -> c_int>,
    shutdown: ProviderFn<unsafe extern "C" fn()>,
    get_provider_name: ProviderFn<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    add_random: ProviderFn<unsafe extern "C" fn(*mut c_void, *const c_void, c_int) -> c_int>,
    random: ProviderFn<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    hmac: ProviderFn<HmacFn>,
    kdf: ProviderFn<KdfFn>,
    cipher: ProviderFn<CipherFn>,
    get_cipher: ProviderFn<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    get_key_sz: ProviderFn<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_iv_sz: ProviderFn<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_block_sz: ProviderFn<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_hmac_sz: ProviderFn<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    ctx_init: ProviderFn<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    ctx_free: ProviderFn<unsafe extern "C" fn(*mut *mut c_void) -> c_int>,
    fips_status: ProviderFn<unsafe extern "C" fn(*mut c_void) -> c_int>,
    get_provider_version: ProviderFn<unsafe extern "C" fn(*mut c_void) -> *const c_char>,
    next: *mut SqlcipherProvider,
}

type HmacFn =
    unsafe extern "C" fn(*mut c_void, c_int, *const u8, c_int, *const u8, c_int, *const u8, c_int, *mut u8) -> c_int;
type KdfFn =
    unsafe extern "C" fn(*mut c_void, c_int, *const u8, c_int, *const u8, c_int, c_int, c_int, *mut u8) -> c_int;
type CipherFn =
    unsafe extern "C" fn(*mut c_void, c_int, *const u8, c_int, *const u8, *const u8, c_int, *mut u8) -> c_int;

/// Called by SQLCipher (through `SQLCIPHER_CRYPTO_CUSTOM`) to fill in its
/// default provider.
///
/// # Safety
/// `p` must point to a writable `sqlcipher_provider`, as SQLCipher passes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn guardian_sqlcipher_setup(p: *mut SqlcipherProvider) -> c_int {
    if p.is_null() {
        return SQLITE_ERROR;
    }
    let provider = SqlcipherProvider {
        init: None,
        shutdown: None,
        get_provider_name: Some(provider_name),
        add_random: Some(add_random),
        random: Some(random),
        hmac: Some(hmac),
        kdf: Some(kdf),
        cipher: Some(cipher),
        get_cipher: Some(cipher_name),
        get_key_sz: Some(key_size),
        get_iv_sz: Some(block_size),
        get_block_sz: Some(block_size),
        get_hmac_sz: Some(hmac_size),
        ctx_init: Some(ctx_init),
        ctx_free: Some(ctx_free),
        fips_status: Some(fips_status),
        get_provider_version: Some(provider_version),
        next: std::ptr::null_mut(),
    };
    // SAFETY: SQLCipher hands us its freshly allocated provider struct.
    unsafe { p.write(provider) };
    SQLITE_OK
}

/// Runs `f`, turning an error or a panic into `SQLITE_ERROR`: C is on the
/// other side of every caller.
fn guarded(f: impl FnOnce() -> Result<(), Refused>) -> c_int {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => SQLITE_OK,
        Ok(Err(Refused)) => SQLITE_ERROR,
        // Under the fuzzer a panic must be seen, not turned into an answer.
        #[cfg(feature = "fuzzing")]
        Err(panic) => std::panic::resume_unwind(panic),
        #[cfg(not(feature = "fuzzing"))]
        Err(_) => SQLITE_ERROR,
    }
}

/// Bad arguments from SQLCipher: a null pointer, a negative length, an
/// unknown algorithm. SQLCipher logs the failure; there is nothing to add.
struct Refused;

fn len(n: c_int) -> Result<usize, Refused> {
    usize::try_from(n).map_err(|_| Refused)
}

/// # Safety
/// `ptr` must be valid for `n` bytes when it is not null.
unsafe fn input<'a>(ptr: *const u8, n: c_int) -> Result<&'a [u8], Refused> {
    let n = len(n)?;
    if n == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Refused);
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, n) })
}

/// # Safety
/// `ptr` must be valid for writes of `n` bytes and not overlap any input.
unsafe fn output<'a>(ptr: *mut u8, n: usize) -> Result<&'a mut [u8], Refused> {
    if ptr.is_null() {
        return Err(Refused);
    }
    // SAFETY: the caller's contract.
    Ok(unsafe { std::slice::from_raw_parts_mut(ptr, n) })
}

fn hmac_len(algorithm: c_int) -> Option<usize> {
    match algorithm {
        HMAC_SHA1 => Some(20),
        HMAC_SHA256 => Some(32),
        HMAC_SHA512 => Some(64),
        _ => None,
    }
}

fn mac_into<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: [&[u8]; 2], out: &mut [u8]) -> Result<(), Refused> {
    let mut mac = <M as Mac>::new_from_slice(key).map_err(|_| Refused)?;
    for part in parts {
        mac.update(part);
    }
    out.copy_from_slice(&mac.finalize().into_bytes());
    Ok(())
}

unsafe extern "C" fn hmac(
    _ctx: *mut c_void,
    algorithm: c_int,
    key: *const u8,
    key_sz: c_int,
    in1: *const u8,
    in1_sz: c_int,
    in2: *const u8,
    in2_sz: c_int,
    out: *mut u8,
) -> c_int {
    guarded(|| {
        // SAFETY: SQLCipher passes buffers of the sizes it names, and an
        // output of get_hmac_sz bytes that no input overlaps.
        let (key, in1) = unsafe { (input(key, key_sz)?, input(in1, in1_sz)?) };
        let in2 = if in2.is_null() {
            &[][..]
        } else {
            unsafe { input(in2, in2_sz)? }
        };
        let out = unsafe { output(out, hmac_len(algorithm).ok_or(Refused)?)? };
        match algorithm {
            HMAC_SHA1 => mac_into::<Hmac<Sha1>>(key, [in1, in2], out),
            HMAC_SHA256 => mac_into::<Hmac<Sha256>>(key, [in1, in2], out),
            _ => mac_into::<Hmac<Sha512>>(key, [in1, in2], out),
        }
    })
}

unsafe extern "C" fn kdf(
    _ctx: *mut c_void,
    algorithm: c_int,
    pass: *const u8,
    pass_sz: c_int,
    salt: *const u8,
    salt_sz: c_int,
    workfactor: c_int,
    key_sz: c_int,
    key: *mut u8,
) -> c_int {
    guarded(|| {
        let rounds = u32::try_from(workfactor).ok().filter(|r| *r > 0).ok_or(Refused)?;
        // SAFETY: as for `hmac`; the key buffer holds key_sz bytes.
        let (pass, salt) = unsafe { (input(pass, pass_sz)?, input(salt, salt_sz)?) };
        let key = unsafe { output(key, len(key_sz)?)? };
        let derived = match algorithm {
            HMAC_SHA1 => pbkdf2::pbkdf2::<Hmac<Sha1>>(pass, salt, rounds, key),
            HMAC_SHA256 => pbkdf2::pbkdf2::<Hmac<Sha256>>(pass, salt, rounds, key),
            HMAC_SHA512 => pbkdf2::pbkdf2::<Hmac<Sha512>>(pass, salt, rounds, key),
            _ => return Err(Refused),
        };
        derived.map_err(|_| Refused)
    })
}

unsafe extern "C" fn cipher(
    _ctx: *mut c_void,
    mode: c_int,
    key: *const u8,
    key_sz: c_int,
    iv: *const u8,
    in_buf: *const u8,
    in_sz: c_int,
    out: *mut u8,
) -> c_int {
    guarded(|| {
        let n = len(in_sz)?;
        if n % BLOCK_SIZE != 0 || in_buf.is_null() || out.is_null() {
            return Err(Refused);
        }
        // SAFETY: SQLCipher passes a key of key_sz bytes and a block-sized
        // IV. The page is copied to the output first (`copy` allows the two
        // to overlap) and transformed there, so no slice ever aliases another.
        let (key, iv) = unsafe { (input(key, key_sz)?, input(iv, BLOCK_SIZE as c_int)?) };
        let buf = unsafe {
            std::ptr::copy(in_buf, out, n);
            output(out, n)?
        };
        match mode {
            SQLCIPHER_ENCRYPT => cbc::Encryptor::<Aes256>::new_from_slices(key, iv)
                .map_err(|_| Refused)?
                .encrypt_padded_mut::<NoPadding>(buf, n)
                .map(drop)
                .map_err(|_| Refused),
            SQLCIPHER_DECRYPT => cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
                .map_err(|_| Refused)?
                .decrypt_padded_mut::<NoPadding>(buf)
                .map(drop)
                .map_err(|_| Refused),
            _ => Err(Refused),
        }
    })
}

unsafe extern "C" fn random(_ctx: *mut c_void, buffer: *mut c_void, length: c_int) -> c_int {
    guarded(|| {
        // SAFETY: SQLCipher asks for `length` bytes into a buffer that big.
        let buf = unsafe { output(buffer.cast(), len(length)?)? };
        getrandom::fill(buf).map_err(|_| Refused)
    })
}

/// The OS generator needs no seeding from SQLCipher.
unsafe extern "C" fn add_random(_ctx: *mut c_void, _buffer: *const c_void, _length: c_int) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn provider_name(_ctx: *mut c_void) -> *const c_char {
    NAME.as_ptr()
}

unsafe extern "C" fn provider_version(_ctx: *mut c_void) -> *const c_char {
    VERSION.as_ptr()
}

unsafe extern "C" fn cipher_name(_ctx: *mut c_void) -> *const c_char {
    CIPHER.as_ptr()
}

unsafe extern "C" fn key_size(_ctx: *mut c_void) -> c_int {
    KEY_SIZE as c_int
}

unsafe extern "C" fn block_size(_ctx: *mut c_void) -> c_int {
    BLOCK_SIZE as c_int
}

unsafe extern "C" fn hmac_size(_ctx: *mut c_void, algorithm: c_int) -> c_int {
    hmac_len(algorithm).map_or(0, |n| n as c_int)
}

/// The RustCrypto types keep no state between calls: no context to make.
unsafe extern "C" fn ctx_init(ctx: *mut *mut c_void) -> c_int {
    if !ctx.is_null() {
        // SAFETY: SQLCipher passes the address of its context pointer.
        unsafe { *ctx = std::ptr::null_mut() };
    }
    SQLITE_OK
}

unsafe extern "C" fn ctx_free(_ctx: *mut *mut c_void) -> c_int {
    SQLITE_OK
}

unsafe extern "C" fn fips_status(_ctx: *mut c_void) -> c_int {
    0
}

/// Fuzzing entry: SQLCipher's calls into the provider with arguments drawn
/// from `data` — any algorithm or mode number, any length (negative too),
/// null pointers — within the C contract (a non-null buffer is as long as
/// its length says). Each call must answer OK or ERROR, never unwind, and an
/// OK must be right: a MAC repeats, a cipher round-trips.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub fn fuzz_calls(data: &[u8]) {
    let mut d = Draw(data);
    let algorithm = c_int::from(d.byte() % 6) - 2;
    let key = d.buffer();
    let a = d.buffer();
    let b = d.buffer();
    let ctx = std::ptr::null_mut();
    // SAFETY (all calls below): every non-null pointer points to a buffer at
    // least as long as the length passed with it; outputs are fresh.
    match d.byte() % 4 {
        0 => {
            let mut out = [[0u8; 64]; 2];
            let rc: Vec<c_int> = out
                .iter_mut()
                .map(|o| unsafe {
                    hmac(
                        ctx,
                        algorithm,
                        key.ptr(),
                        key.len,
                        a.ptr(),
                        a.len,
                        b.ptr(),
                        b.len,
                        o.as_mut_ptr(),
                    )
                })
                .collect();
            assert_eq!(rc[0], rc[1]);
            let valid = hmac_len(algorithm).is_some() && key.usable() && a.usable() && (b.null || b.len >= 0);
            assert_eq!(
                rc[0] == SQLITE_OK,
                valid,
                "a MAC is made exactly when its arguments are good"
            );
            if valid {
                assert_eq!(out[0], out[1], "a MAC is a function of its inputs");
            }
        }
        1 => {
            let key_sz = c_int::from(d.byte()) - 8;
            let mut out = vec![0u8; usize::try_from(key_sz).unwrap_or(0)];
            // Few rounds: the work factor is SQLCipher's to choose.
            let rounds = c_int::from(d.byte() % 4) - 1;
            let rc = unsafe {
                kdf(
                    ctx,
                    algorithm,
                    key.ptr(),
                    key.len,
                    a.ptr(),
                    a.len,
                    rounds,
                    key_sz,
                    out.as_mut_ptr(),
                )
            };
            if rc == SQLITE_OK {
                assert!(rounds > 0 && key_sz >= 0);
            }
        }
        2 => {
            let iv = [d.byte(); BLOCK_SIZE];
            let mut sealed = vec![0u8; usize::try_from(a.len).unwrap_or(0)];
            let mode = c_int::from(d.byte() % 3);
            let rc = unsafe {
                cipher(
                    ctx,
                    mode,
                    key.ptr(),
                    key.len,
                    iv.as_ptr(),
                    a.ptr(),
                    a.len,
                    sealed.as_mut_ptr(),
                )
            };
            let valid = key.len == KEY_SIZE as c_int
                && !key.null
                && !a.null
                && a.len >= 0
                && (a.len as usize).is_multiple_of(BLOCK_SIZE)
                && (mode == SQLCIPHER_ENCRYPT || mode == SQLCIPHER_DECRYPT);
            assert_eq!(
                rc == SQLITE_OK,
                valid,
                "a page is ciphered exactly when its arguments are good"
            );
            if rc == SQLITE_OK {
                let mut back = vec![0u8; sealed.len()];
                let undo = if mode == SQLCIPHER_ENCRYPT {
                    SQLCIPHER_DECRYPT
                } else {
                    SQLCIPHER_ENCRYPT
                };
                let rc = unsafe {
                    cipher(
                        ctx,
                        undo,
                        key.ptr(),
                        key.len,
                        iv.as_ptr(),
                        sealed.as_ptr(),
                        a.len,
                        back.as_mut_ptr(),
                    )
                };
                assert_eq!(rc, SQLITE_OK);
                if !a.null {
                    assert_eq!(back, a.bytes, "the cipher round-trips");
                }
            }
        }
        _ => {
            let mut out = vec![0u8; usize::try_from(a.len).unwrap_or(0)];
            let target = if a.null {
                std::ptr::null_mut()
            } else {
                out.as_mut_ptr().cast()
            };
            let rc = unsafe { random(ctx, target, a.len) };
            if rc == SQLITE_OK {
                assert!(a.len >= 0);
            }
            let _ = unsafe { hmac_size(ctx, algorithm) };
        }
    }
}

/// A buffer for [`fuzz_calls`]: its bytes, the length passed, and whether a
/// null pointer is passed instead.
#[cfg(feature = "fuzzing")]
struct Arg {
    bytes: Vec<u8>,
    len: c_int,
    null: bool,
}

#[cfg(feature = "fuzzing")]
impl Arg {
    /// What the provider may accept: a length that is not negative, with
    /// a buffer behind it unless it is zero.
    fn usable(&self) -> bool {
        self.len >= 0 && !(self.len > 0 && self.null)
    }

    fn ptr(&self) -> *const u8 {
        if self.null {
            std::ptr::null()
        } else {
            self.bytes.as_ptr()
        }
    }
}

#[cfg(feature = "fuzzing")]
struct Draw<'a>(&'a [u8]);

#[cfg(feature = "fuzzing")]
impl Draw<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    /// Lengths from -4 to 64 (most often the key and block sizes), null
    /// one time in eight.
    fn buffer(&mut self) -> Arg {
        let pick = self.byte();
        let len = match pick % 8 {
            0 => KEY_SIZE as c_int,
            1 => BLOCK_SIZE as c_int,
            2 => 2 * BLOCK_SIZE as c_int,
            _ => c_int::from(self.byte() % 69) - 4,
        };
        let n = usize::try_from(len).unwrap_or(0);
        let bytes: Vec<u8> = (0..n).map(|_| self.byte()).collect();
        Arg {
            bytes,
            len,
            null: pick >> 5 == 7,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider as SQLCipher sees it, after setup.
    fn provider() -> SqlcipherProvider {
        let mut p = std::mem::MaybeUninit::<SqlcipherProvider>::uninit();
        // SAFETY: setup writes every field.
        unsafe {
            assert_eq!(guardian_sqlcipher_setup(p.as_mut_ptr()), SQLITE_OK);
            p.assume_init()
        }
    }

    const NO_CTX: *mut c_void = std::ptr::null_mut();
    const IV: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    fn n(len: usize) -> c_int {
        c_int::try_from(len).expect("small")
    }

    /// Raw pointers so the hostile cases can pass null; an empty `in2` is
    /// passed as null, as SQLCipher does when there is no second input.
    fn call_hmac(
        algorithm: c_int,
        key: &[u8],
        key_sz: c_int,
        msg: *const u8,
        msg_sz: c_int,
        in2: &[u8],
        out: &mut [u8],
    ) -> c_int {
        let f = provider().hmac.expect("hmac");
        let in2_ptr = if in2.is_empty() { std::ptr::null() } else { in2.as_ptr() };
        // SAFETY: every pointer is valid for the length passed with it, or null.
        unsafe {
            f(
                NO_CTX,
                algorithm,
                key.as_ptr(),
                key_sz,
                msg,
                msg_sz,
                in2_ptr,
                n(in2.len()),
                out.as_mut_ptr(),
            )
        }
    }

    fn call_kdf(algorithm: c_int, pass: &[u8], salt: &[u8], rounds: c_int, out: &mut [u8]) -> c_int {
        let f = provider().kdf.expect("kdf");
        let (ps, ss, os) = (n(pass.len()), n(salt.len()), n(out.len()));
        // SAFETY: as above.
        unsafe {
            f(
                NO_CTX,
                algorithm,
                pass.as_ptr(),
                ps,
                salt.as_ptr(),
                ss,
                rounds,
                os,
                out.as_mut_ptr(),
            )
        }
    }

    fn call_cipher(mode: c_int, key: &[u8], key_sz: c_int, input: *const u8, in_sz: c_int, out: &mut [u8]) -> c_int {
        let f = provider().cipher.expect("cipher");
        // SAFETY: as above; `out` is at least `in_sz` long in every call.
        unsafe {
            f(
                NO_CTX,
                mode,
                key.as_ptr(),
                key_sz,
                IV.as_ptr(),
                input,
                in_sz,
                out.as_mut_ptr(),
            )
        }
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// RFC 4231 test case 2 (key "Jefe"), split across SQLCipher's two inputs.
    #[test]
    fn hmac_matches_rfc_4231_over_two_inputs() {
        let (a, b) = (b"what do ya want ".as_slice(), b"for nothing?".as_slice());
        let mut out = [0u8; 64];
        assert_eq!(
            call_hmac(HMAC_SHA512, b"Jefe", 4, a.as_ptr(), n(a.len()), b, &mut out),
            SQLITE_OK
        );
        assert_eq!(
            hex(&out),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"
        );
        let whole = b"what do ya want for nothing?";
        let mut out = [0u8; 32];
        assert_eq!(
            call_hmac(HMAC_SHA256, b"Jefe", 4, whole.as_ptr(), n(whole.len()), &[], &mut out),
            SQLITE_OK
        );
        assert_eq!(
            hex(&out),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    /// RFC 6070's PBKDF2-HMAC-SHA1 vector (2 iterations).
    #[test]
    fn kdf_matches_rfc_6070() {
        let mut key = [0u8; 20];
        assert_eq!(call_kdf(HMAC_SHA1, b"password", b"salt", 2, &mut key), SQLITE_OK);
        assert_eq!(hex(&key), "ea6c014dc72d6f8ccd1ed92ace1d41f0d8de8957");
    }

    /// NIST SP 800-38A F.2.5 (CBC-AES256), first two blocks, both ways.
    #[test]
    fn cipher_matches_nist_cbc_aes256() {
        let key: [u8; 32] = [
            0x60, 0x3d, 0xeb, 0x10, 0x15, 0xca, 0x71, 0xbe, 0x2b, 0x73, 0xae, 0xf0, 0x85, 0x7d, 0x77, 0x81, 0x1f, 0x35,
            0x2c, 0x07, 0x3b, 0x61, 0x08, 0xd7, 0x2d, 0x98, 0x10, 0xa3, 0x09, 0x14, 0xdf, 0xf4,
        ];
        let plain = [
            0x6b, 0xc1, 0xbe, 0xe2, 0x2e, 0x40, 0x9f, 0x96, 0xe9, 0x3d, 0x7e, 0x11, 0x73, 0x93, 0x17, 0x2a, 0xae, 0x2d,
            0x8a, 0x57, 0x1e, 0x03, 0xac, 0x9c, 0x9e, 0xb7, 0x6f, 0xac, 0x45, 0xaf, 0x8e, 0x51,
        ];
        let mut sealed = [0u8; 32];
        assert_eq!(
            call_cipher(SQLCIPHER_ENCRYPT, &key, 32, plain.as_ptr(), 32, &mut sealed),
            SQLITE_OK
        );
        assert_eq!(
            hex(&sealed),
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d"
        );
        let mut opened = [0u8; 32];
        assert_eq!(
            call_cipher(SQLCIPHER_DECRYPT, &key, 32, sealed.as_ptr(), 32, &mut opened),
            SQLITE_OK
        );
        assert_eq!(opened, plain);
    }

    #[test]
    fn bad_arguments_are_refused_not_trusted() {
        let key = [7u8; 32];
        let data = [0u8; 32];
        let null = std::ptr::null();
        let mut out = [0u8; 64];
        let refused = [
            // Not a whole number of blocks; a 16-byte key; an unknown mode; no input.
            call_cipher(SQLCIPHER_ENCRYPT, &key, 32, data.as_ptr(), 20, &mut out),
            call_cipher(SQLCIPHER_ENCRYPT, &key, 16, data.as_ptr(), 32, &mut out),
            call_cipher(9, &key, 32, data.as_ptr(), 32, &mut out),
            call_cipher(SQLCIPHER_ENCRYPT, &key, 32, null, 32, &mut out),
            // An unknown HMAC, a negative length, a null input.
            call_hmac(7, &key, 32, data.as_ptr(), 32, &[], &mut out),
            call_hmac(HMAC_SHA512, &key, -1, data.as_ptr(), 32, &[], &mut out),
            call_hmac(HMAC_SHA512, &key, 32, null, 32, &[], &mut out),
            // Zero rounds; an unknown KDF.
            call_kdf(HMAC_SHA512, &key, &data[..16], 0, &mut out[..32]),
            call_kdf(5, &key, &data[..16], 2, &mut out[..32]),
        ];
        for (i, rc) in refused.into_iter().enumerate() {
            assert_eq!(rc, SQLITE_ERROR, "case {i}");
        }
        let p = provider();
        // SAFETY: a negative length is refused before the buffer is touched;
        // setup refuses a null provider.
        unsafe {
            assert_eq!(
                (p.random.expect("random"))(NO_CTX, out.as_mut_ptr().cast(), -4),
                SQLITE_ERROR
            );
            assert_eq!(guardian_sqlcipher_setup(std::ptr::null_mut()), SQLITE_ERROR);
            assert_eq!((p.get_hmac_sz.expect("sz"))(NO_CTX, 9), 0);
        }
    }

    #[test]
    fn random_fills_the_buffer() {
        let random = provider().random.expect("random");
        let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
        // SAFETY: both buffers are 32 bytes.
        unsafe {
            assert_eq!(random(NO_CTX, a.as_mut_ptr().cast(), 32), SQLITE_OK);
            assert_eq!(random(NO_CTX, b.as_mut_ptr().cast(), 32), SQLITE_OK);
        }
        assert_ne!(a, [0u8; 32]);
        assert_ne!(a, b);
    }
}
