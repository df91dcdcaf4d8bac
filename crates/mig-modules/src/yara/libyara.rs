#![allow(unsafe_code)] // FFI to libyara: every unsafe block says why it holds.

//! libyara 4.x, loaded when first needed with `dlopen`.
//!
//! The original linked a special static libyara 3.x into the agent (build tag
//! `modyara`, cgo). Here nothing is linked: the agent runs on hosts without
//! libyara, and the `yara` module fails with a clear error there. Where the
//! distribution ships libyara (Debian `libyara9`/`libyara10`, Fedora `yara`),
//! the module uses it, so rule syntax is exactly YARA's.
//!
//! Only the stable part of the 4.x ABI is used: the compiler and scan entry
//! points, the callback messages and flags of `rules.h`/`scan.h`, the memory
//! block iterator of `types.h` (with `last_error`, 4.1 and later), and the
//! first fields of `YR_RULE` (two `int32_t`, then the identifier pointer,
//! unchanged since 4.0). `MIG_LIBYARA` names another library file to load.

use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::sync::OnceLock;

use super::BlockSource;

/// `CALLBACK_MSG_RULE_MATCHING`.
const MSG_RULE_MATCHING: c_int = 1;
/// `CALLBACK_CONTINUE`.
const CONTINUE: c_int = 0;
/// `SCAN_FLAGS_REPORT_RULES_MATCHING`: only matching rules are reported.
const REPORT_RULES_MATCHING: c_int = 8;
/// `SCAN_FLAGS_PROCESS_MEMORY`: `filesize` is undefined, as for `yara <pid>`.
const PROCESS_MEMORY: c_int = 2;

/// The library file names tried, newest ABI first.
const LIBRARY_NAMES: &[&str] = &[
    "libyara.so.10",
    "libyara.so.9",
    "libyara.so.8",
    "libyara.so",
];

type CompilerCallback =
    unsafe extern "C" fn(c_int, *const c_char, c_int, *const c_void, *const c_char, *mut c_void);
type ScanCallback = unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut c_void) -> c_int;
type BlockFunc = unsafe extern "C" fn(*mut BlockIterator) -> *mut MemoryBlock;
type FetchFunc = unsafe extern "C" fn(*mut MemoryBlock) -> *const u8;

/// `YR_MEMORY_BLOCK`.
#[repr(C)]
struct MemoryBlock {
    size: usize,
    base: u64,
    context: *mut c_void,
    fetch_data: FetchFunc,
}

/// `YR_MEMORY_BLOCK_ITERATOR` (4.1+).
#[repr(C)]
struct BlockIterator {
    context: *mut c_void,
    first: BlockFunc,
    next: BlockFunc,
    file_size: Option<unsafe extern "C" fn(*mut BlockIterator) -> u64>,
    last_error: c_int,
}

/// The first fields of `YR_RULE`.
#[repr(C)]
struct RuleHead {
    flags: i32,
    num_atoms: i32,
    identifier: *const c_char,
}

type Initialize = unsafe extern "C" fn() -> c_int;
type CompilerCreate = unsafe extern "C" fn(*mut *mut c_void) -> c_int;
type CompilerDestroy = unsafe extern "C" fn(*mut c_void);
type CompilerSetCallback = unsafe extern "C" fn(*mut c_void, CompilerCallback, *mut c_void);
type CompilerAddString = unsafe extern "C" fn(*mut c_void, *const c_char, *const c_char) -> c_int;
type CompilerGetRules = unsafe extern "C" fn(*mut c_void, *mut *mut c_void) -> c_int;
type RulesDestroy = unsafe extern "C" fn(*mut c_void) -> c_int;
type RulesScanFile = unsafe extern "C" fn(
    *mut c_void,
    *const c_char,
    c_int,
    ScanCallback,
    *mut c_void,
    c_int,
) -> c_int;
type RulesScanMemBlocks = unsafe extern "C" fn(
    *mut c_void,
    *mut BlockIterator,
    c_int,
    ScanCallback,
    *mut c_void,
    c_int,
) -> c_int;

/// The entry points used.
struct Api {
    compiler_create: CompilerCreate,
    compiler_destroy: CompilerDestroy,
    compiler_set_callback: CompilerSetCallback,
    compiler_add_string: CompilerAddString,
    compiler_get_rules: CompilerGetRules,
    rules_destroy: RulesDestroy,
    rules_scan_file: RulesScanFile,
    rules_scan_mem_blocks: RulesScanMemBlocks,
}

static API: OnceLock<Result<Api, String>> = OnceLock::new();

fn api() -> Result<&'static Api, String> {
    API.get_or_init(load).as_ref().map_err(Clone::clone)
}

/// Opens the library and resolves the entry points; `yr_initialize` once.
fn load() -> Result<Api, String> {
    let explicit = std::env::var("MIG_LIBYARA")
        .ok()
        .filter(|path| !path.is_empty());
    let candidates: Vec<String> = match &explicit {
        Some(path) => vec![path.clone()],
        None => LIBRARY_NAMES
            .iter()
            .map(|name| (*name).to_owned())
            .collect(),
    };
    let mut handle = std::ptr::null_mut();
    for name in &candidates {
        let Ok(c_name) = CString::new(name.as_str()) else {
            continue;
        };
        // SAFETY: dlopen with a valid C string; the handle is never closed
        // (the library stays for the life of the process).
        handle = unsafe { libc::dlopen(c_name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        if !handle.is_null() {
            break;
        }
    }
    if handle.is_null() {
        return Err(format!(
            "libyara is not installed on this host (tried {}): install libyara 4 (Debian: libyara9 or libyara10)",
            candidates.join(", ")
        ));
    }
    let symbol = |name: &str| -> Result<*mut c_void, String> {
        let c_name = CString::new(name).map_err(|err| err.to_string())?;
        // SAFETY: a valid handle and C string.
        let address = unsafe { libc::dlsym(handle, c_name.as_ptr()) };
        if address.is_null() {
            Err(format!(
                "libyara: symbol {name} not found (libyara 4 is needed)"
            ))
        } else {
            Ok(address)
        }
    };
    // Each entry point, as the function pointer type of its C signature.
    macro_rules! resolve {
        ($name:literal as $signature:ty) => {
            std::mem::transmute::<*mut c_void, $signature>(symbol($name)?)
        };
    }
    // SAFETY: each symbol is the libyara 4 function of that name, whose C
    // signature is the function pointer type it is transmuted to.
    unsafe {
        let initialize = resolve!("yr_initialize" as Initialize);
        let api = Api {
            compiler_create: resolve!("yr_compiler_create" as CompilerCreate),
            compiler_destroy: resolve!("yr_compiler_destroy" as CompilerDestroy),
            compiler_set_callback: resolve!("yr_compiler_set_callback" as CompilerSetCallback),
            compiler_add_string: resolve!("yr_compiler_add_string" as CompilerAddString),
            compiler_get_rules: resolve!("yr_compiler_get_rules" as CompilerGetRules),
            rules_destroy: resolve!("yr_rules_destroy" as RulesDestroy),
            rules_scan_file: resolve!("yr_rules_scan_file" as RulesScanFile),
            rules_scan_mem_blocks: resolve!("yr_rules_scan_mem_blocks" as RulesScanMemBlocks),
        };
        let code = initialize();
        if code != 0 {
            return Err(format!("yr_initialize: {}", error_text(code)));
        }
        Ok(api)
    }
}

/// The engine's name, for messages and benchmarks.
pub const ENGINE: &str = "libyara";

/// Whether libyara can be loaded on this host.
pub fn available() -> Result<(), String> {
    api().map(|_| ())
}

/// The text of a libyara error code (`error.h`).
pub fn error_text(code: c_int) -> String {
    let text = match code {
        1 => "insufficient memory",
        2 => "could not attach to process",
        3 => "could not open file",
        4 => "could not map file into memory",
        6 => "invalid file",
        7 => "corrupt file",
        25 => "internal error: exec stack overflow",
        26 => "scanning timed out",
        27 => "too many scan threads",
        28 => "callback error",
        30 => "too many matches",
        31 => "internal fatal error",
        44 => "division by zero",
        47 => "could not read process memory",
        55 => "could not read file",
        _ => return format!("libyara error {code}"),
    };
    text.to_owned()
}

/// Compiled rules, shareable between scanning threads (libyara 4 allows
/// concurrent scans with one `YR_RULES`).
pub struct Rules {
    api: &'static Api,
    rules: *mut c_void,
}

// SAFETY: libyara documents YR_RULES as usable by several threads at once
// (each scan makes its own scanner); destruction happens once, in Drop.
unsafe impl Send for Rules {}
// SAFETY: as above.
unsafe impl Sync for Rules {}

impl Drop for Rules {
    fn drop(&mut self) {
        // SAFETY: the pointer came from yr_compiler_get_rules and is dropped once.
        unsafe {
            (self.api.rules_destroy)(self.rules);
        }
    }
}

/// A compiler whose destruction is guaranteed.
struct Compiler {
    api: &'static Api,
    compiler: *mut c_void,
}

impl Drop for Compiler {
    fn drop(&mut self) {
        // SAFETY: created by yr_compiler_create, destroyed once.
        unsafe { (self.api.compiler_destroy)(self.compiler) }
    }
}

unsafe extern "C" fn compiler_message(
    error_level: c_int,
    _file_name: *const c_char,
    line_number: c_int,
    _rule: *const c_void,
    message: *const c_char,
    user_data: *mut c_void,
) {
    // SAFETY: user_data is the Vec given to yr_compiler_set_callback, alive
    // for the whole compilation; message is a C string or null.
    let messages = unsafe { &mut *user_data.cast::<Vec<String>>() };
    let text = if message.is_null() {
        String::new()
    } else {
        // SAFETY: non-null C string from libyara.
        unsafe { CStr::from_ptr(message) }
            .to_string_lossy()
            .into_owned()
    };
    // YARA_ERROR_LEVEL_ERROR is 0, warnings are 1.
    if error_level == 0 {
        messages.push(format!("line {line_number}: {text}"));
    }
}

impl Rules {
    /// Compiles `source` in namespace `default`; the error lists every
    /// compiler error with its line.
    pub fn compile(source: &str) -> Result<Rules, String> {
        let api = api()?;
        let source =
            CString::new(source).map_err(|_| "yara rules contain a NUL byte".to_owned())?;
        let mut compiler = std::ptr::null_mut();
        // SAFETY: out-pointer to a local.
        let code = unsafe { (api.compiler_create)(&mut compiler) };
        if code != 0 || compiler.is_null() {
            return Err(format!("yr_compiler_create: {}", error_text(code)));
        }
        let compiler = Compiler { api, compiler };
        let mut messages: Vec<String> = Vec::new();
        // SAFETY: the callback's user data (messages) outlives the compiler
        // calls below; the namespace is a static C string.
        let errors = unsafe {
            (api.compiler_set_callback)(
                compiler.compiler,
                compiler_message,
                (&raw mut messages).cast(),
            );
            (api.compiler_add_string)(compiler.compiler, source.as_ptr(), c"default".as_ptr())
        };
        if errors > 0 {
            return Err(format!("yara rules: {}", messages.join("; ")));
        }
        let mut rules = std::ptr::null_mut();
        // SAFETY: the compiler compiled without errors; out-pointer to a local.
        let code = unsafe { (api.compiler_get_rules)(compiler.compiler, &mut rules) };
        if code != 0 || rules.is_null() {
            return Err(format!("yr_compiler_get_rules: {}", error_text(code)));
        }
        Ok(Rules { api, rules })
    }

    /// The identifiers of the rules matching the file at `path`.
    pub fn scan_file(&self, path: &str, timeout_seconds: i32) -> Result<Vec<String>, String> {
        let c_path = CString::new(path).map_err(|_| "path contains a NUL byte".to_owned())?;
        let mut matched: Vec<String> = Vec::new();
        // SAFETY: valid rules, C string and callback whose user data lives
        // for the duration of the call.
        let code = unsafe {
            (self.api.rules_scan_file)(
                self.rules,
                c_path.as_ptr(),
                REPORT_RULES_MATCHING,
                collect_matches,
                (&raw mut matched).cast(),
                timeout_seconds,
            )
        };
        if code != 0 {
            return Err(error_text(code));
        }
        Ok(matched)
    }

    /// The identifiers of the rules matching the blocks `source` yields,
    /// scanned as one process image (`filesize` undefined, as `yara <pid>`).
    pub fn scan_blocks(
        &self,
        source: &mut dyn BlockSource,
        timeout_seconds: i32,
    ) -> Result<Vec<String>, String> {
        let mut state = IteratorState {
            source,
            index: 0,
            block: MemoryBlock {
                size: 0,
                base: 0,
                context: std::ptr::null_mut(),
                fetch_data: fetch_block,
            },
        };
        let mut iterator = BlockIterator {
            context: (&raw mut state).cast(),
            first: first_block,
            next: next_block,
            file_size: None,
            last_error: 0,
        };
        let mut matched: Vec<String> = Vec::new();
        // SAFETY: the iterator and its state live on this stack frame for the
        // whole call; libyara calls back only during it.
        let code = unsafe {
            (self.api.rules_scan_mem_blocks)(
                self.rules,
                &mut iterator,
                REPORT_RULES_MATCHING | PROCESS_MEMORY,
                collect_matches,
                (&raw mut matched).cast(),
                timeout_seconds,
            )
        };
        if code != 0 {
            return Err(error_text(code));
        }
        Ok(matched)
    }
}

unsafe extern "C" fn collect_matches(
    _context: *mut c_void,
    message: c_int,
    message_data: *mut c_void,
    user_data: *mut c_void,
) -> c_int {
    if message == MSG_RULE_MATCHING && !message_data.is_null() {
        // SAFETY: for RULE_MATCHING, message_data is a YR_RULE whose head is
        // RuleHead; user_data is the Vec passed by the scanning call.
        unsafe {
            let rule = &*message_data.cast::<RuleHead>();
            let matched = &mut *user_data.cast::<Vec<String>>();
            if !rule.identifier.is_null() {
                matched.push(
                    CStr::from_ptr(rule.identifier)
                        .to_string_lossy()
                        .into_owned(),
                );
            }
        }
    }
    CONTINUE
}

struct IteratorState<'a> {
    source: &'a mut dyn BlockSource,
    index: usize,
    block: MemoryBlock,
}

unsafe fn state<'a>(iterator: *mut BlockIterator) -> &'a mut IteratorState<'a> {
    // SAFETY: the context is the IteratorState of scan_blocks.
    unsafe { &mut *(*iterator).context.cast::<IteratorState<'a>>() }
}

unsafe fn current(iterator: *mut BlockIterator) -> *mut MemoryBlock {
    // SAFETY: see state().
    let state = unsafe { state(iterator) };
    if state.index >= state.source.len() {
        return std::ptr::null_mut();
    }
    let (base, size) = state.source.block(state.index);
    let context: *mut IteratorState<'_> = state;
    state.block = MemoryBlock {
        size,
        base,
        context: context.cast(),
        fetch_data: fetch_block,
    };
    &raw mut state.block
}

unsafe extern "C" fn first_block(iterator: *mut BlockIterator) -> *mut MemoryBlock {
    // SAFETY: called by libyara with our iterator.
    unsafe {
        state(iterator).index = 0;
        current(iterator)
    }
}

unsafe extern "C" fn next_block(iterator: *mut BlockIterator) -> *mut MemoryBlock {
    // SAFETY: called by libyara with our iterator.
    unsafe {
        state(iterator).index += 1;
        current(iterator)
    }
}

unsafe extern "C" fn fetch_block(block: *mut MemoryBlock) -> *const u8 {
    // SAFETY: the block's context is the IteratorState (set by current()).
    let state = unsafe { &mut *(*block).context.cast::<IteratorState<'_>>() };
    let index = state.index;
    match state.source.fetch(index) {
        Some(bytes) => bytes.as_ptr(),
        None => std::ptr::null(),
    }
}
