//! Generates the shim's P/Invoke declarations from the exports, so the two sides cannot
//! drift: the C# file is written next to the shim's sources and committed.

fn main() {
    println!("cargo:rerun-if-changed=src/lib.rs");
    println!("cargo:rerun-if-changed=src/abi.rs");
    println!("cargo:rerun-if-changed=src/collect.rs");
    csbindgen::Builder::default()
        .input_extern_file("src/lib.rs")
        .input_extern_file("src/abi.rs")
        .input_extern_file("src/collect.rs")
        .csharp_dll_name("maf_native")
        .csharp_namespace("MailAccessForensics.Native")
        .csharp_class_name("NativeMethods")
        .csharp_class_accessibility("internal")
        .csharp_generate_const_filter(|name| name.starts_with("MAF_"))
        .always_included_types(["MafStatus"])
        .generate_csharp_file("../../dotnet-shim/src/Native/NativeMethods.g.cs")
        .expect("generate C# bindings");
}
