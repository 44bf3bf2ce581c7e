//! Stands in for `maf_native` from another build: the only export is `maf_abi_version`, and
//! it answers a version no real build uses. The Pester tests point the module at this library
//! and expect Import-Module to refuse it with a clear message.

#[no_mangle]
pub extern "C" fn maf_abi_version() -> u32 {
    0
}
