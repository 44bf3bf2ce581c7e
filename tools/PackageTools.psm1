# The platforms the module ships, and the checks that a module folder holds the right native
# library for each: what build.ps1 Build stages, what build.ps1 Package merges and checks, and
# what the tests check. The loader's side of the same table is dotnet-shim/src/Native/NativePlatform.cs.

Set-StrictMode -Version 3.0

# RID (runtimes/<rid>/native/) -> the cargo target that builds it, the file cargo writes and the
# binary format and architecture that file must have.
$script:Runtimes = [ordered]@{
    'win-x64'     = @{ Triple = 'x86_64-pc-windows-msvc'; File = 'maf_native.dll'; Format = 'PE'; Architecture = 'x64' }
    'win-arm64'   = @{ Triple = 'aarch64-pc-windows-msvc'; File = 'maf_native.dll'; Format = 'PE'; Architecture = 'arm64' }
    'osx-x64'     = @{ Triple = 'x86_64-apple-darwin'; File = 'libmaf_native.dylib'; Format = 'Mach-O'; Architecture = 'x64' }
    'osx-arm64'   = @{ Triple = 'aarch64-apple-darwin'; File = 'libmaf_native.dylib'; Format = 'Mach-O'; Architecture = 'arm64' }
    'linux-x64'   = @{ Triple = 'x86_64-unknown-linux-gnu'; File = 'libmaf_native.so'; Format = 'ELF'; Architecture = 'x64' }
    'linux-arm64' = @{ Triple = 'aarch64-unknown-linux-gnu'; File = 'libmaf_native.so'; Format = 'ELF'; Architecture = 'arm64' }
}

# The C runtime DLLs a Windows build must not need (it is linked with +crt-static, so the
# machine needs no Visual C++ redistributable).
$script:VisualCRuntimePattern = '^(vcruntime\d+|msvcp\d+|msvcr\d+|ucrtbase|api-ms-win-crt-.*)\.dll$'

# The gallery fields Package insists on (PrivateData.PSData and the manifest's own).
$script:GalleryFields = 'Author', 'CompanyName', 'Copyright', 'Description', 'PowerShellVersion'
$script:GalleryDataFields = 'ProjectUri', 'LicenseUri', 'Tags', 'ReleaseNotes'

function Get-SupportedRuntime {
    <# The packaged platforms: objects with Runtime, Triple, File, Format, Architecture. #>
    foreach ($rid in $script:Runtimes.Keys) {
        $entry = $script:Runtimes[$rid]
        [pscustomobject]@{ Runtime = $rid; Triple = $entry.Triple; File = $entry.File; Format = $entry.Format; Architecture = $entry.Architecture }
    }
}

function Get-HostRuntimeIdentifier {
    <# The RID of this pwsh process (.NET's portable RID: win-x64, osx-arm64, linux-musl-x64...), the one its loader asks for. #>
    [System.Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier
}

function Get-NativeLibraryFileName {
    <# The file cargo builds for a cdylib crate on the OS of a RID. #>
    param([Parameter(Mandatory)] [string] $Runtime, [string] $Crate = 'maf_native')
    if ($Runtime -like 'win-*') { "$Crate.dll" } elseif ($Runtime -like 'osx-*') { "lib$Crate.dylib" } else { "lib$Crate.so" }
}

function Read-UInt16([byte[]] $Bytes, [int] $Offset, [switch] $BigEndian) {
    if ($Offset + 2 -gt $Bytes.Length) { throw "truncated at offset $Offset" }
    if ($BigEndian) { return ([int]$Bytes[$Offset] -shl 8) -bor $Bytes[$Offset + 1] }
    [System.BitConverter]::ToUInt16($Bytes, $Offset)
}

function Read-UInt32([byte[]] $Bytes, [int] $Offset, [switch] $BigEndian) {
    if ($Offset + 4 -gt $Bytes.Length) { throw "truncated at offset $Offset" }
    if ($BigEndian) {
        return [uint32](([uint32]$Bytes[$Offset] -shl 24) -bor ([uint32]$Bytes[$Offset + 1] -shl 16) -bor ([uint32]$Bytes[$Offset + 2] -shl 8) -bor $Bytes[$Offset + 3])
    }
    [System.BitConverter]::ToUInt32($Bytes, $Offset)
}

function Read-AsciiZ([byte[]] $Bytes, [int] $Offset) {
    $end = [Array]::IndexOf($Bytes, [byte]0, $Offset)
    if ($end -lt 0) { throw "unterminated name at offset $Offset" }
    [System.Text.Encoding]::ASCII.GetString($Bytes, $Offset, $end - $Offset)
}

# The DLL names a PE file imports (its import directory).
function Get-PEImport([byte[]] $Bytes, [int] $PeOffset) {
    $sections = Read-UInt16 $Bytes ($PeOffset + 6)
    $optionalSize = Read-UInt16 $Bytes ($PeOffset + 20)
    $optional = $PeOffset + 24
    $magic = Read-UInt16 $Bytes $optional
    $directories = if ($magic -eq 0x20b) { $optional + 112 } else { $optional + 96 }
    $importRva = Read-UInt32 $Bytes ($directories + 8)
    if ($importRva -eq 0) { return @() }
    $table = $optional + $optionalSize
    $toOffset = {
        param([uint32] $Rva)
        for ($i = 0; $i -lt $sections; $i++) {
            $section = $table + 40 * $i
            $virtualSize = Read-UInt32 $Bytes ($section + 8)
            $virtualAddress = Read-UInt32 $Bytes ($section + 12)
            $rawSize = Read-UInt32 $Bytes ($section + 16)
            $rawPointer = Read-UInt32 $Bytes ($section + 20)
            if ($Rva -ge $virtualAddress -and $Rva -lt $virtualAddress + [Math]::Max($virtualSize, $rawSize)) {
                return [int]($Rva - $virtualAddress + $rawPointer)
            }
        }
        throw "import address $Rva is in no section"
    }
    $descriptor = & $toOffset $importRva
    $names = [System.Collections.Generic.List[string]]::new()
    while ($true) {
        $nameRva = Read-UInt32 $Bytes ($descriptor + 12)
        if ($nameRva -eq 0) { break }
        $names.Add((Read-AsciiZ $Bytes (& $toOffset $nameRva)))
        $descriptor += 20
    }
    , $names.ToArray()
}

function Get-NativeBinaryInfo {
    <#
    .SYNOPSIS
        What kind of binary a file is, read from its header: Format (PE, ELF, Mach-O or
        Unknown), Architecture (x64, arm64, x86, arm, or the raw machine number), whether it is a
        shared library, and for PE the DLLs it imports. Reads any platform's binaries on any
        platform, so Package can check natives built elsewhere.
    #>
    param([Parameter(Mandatory)] [string] $Path)
    $bytes = [System.IO.File]::ReadAllBytes((Resolve-Path -LiteralPath $Path).ProviderPath)
    $info = [ordered]@{ Path = $Path; Format = 'Unknown'; Architecture = $null; SharedLibrary = $false; Imports = @(); Problem = $null }
    try {
        if ($bytes.Length -ge 64 -and $bytes[0] -eq 0x4D -and $bytes[1] -eq 0x5A) {
            $pe = [int](Read-UInt32 $bytes 0x3C)
            if ((Read-UInt32 $bytes $pe) -ne 0x00004550) { throw 'MZ header without a PE signature' }
            $info.Format = 'PE'
            $machine = Read-UInt16 $bytes ($pe + 4)
            $info.Architecture = switch ($machine) { 0x8664 { 'x64' } 0xAA64 { 'arm64' } 0x14C { 'x86' } 0x1C4 { 'arm' } default { '0x{0:X4}' -f $machine } }
            $characteristics = Read-UInt16 $bytes ($pe + 22)
            $info.SharedLibrary = [bool]($characteristics -band 0x2000)
            $info.Imports = Get-PEImport $bytes $pe
        }
        elseif ($bytes.Length -ge 20 -and $bytes[0] -eq 0x7F -and $bytes[1] -eq 0x45 -and $bytes[2] -eq 0x4C -and $bytes[3] -eq 0x46) {
            $info.Format = 'ELF'
            $bigEndian = $bytes[5] -eq 2
            $machine = Read-UInt16 $bytes 18 -BigEndian:$bigEndian
            $info.Architecture = switch ($machine) { 62 { 'x64' } 183 { 'arm64' } 3 { 'x86' } 40 { 'arm' } default { "$machine" } }
            $info.SharedLibrary = (Read-UInt16 $bytes 16 -BigEndian:$bigEndian) -eq 3 # ET_DYN
        }
        elseif ($bytes.Length -ge 16 -and (Read-UInt32 $bytes 0) -eq 0xFEEDFACF) {
            $info.Format = 'Mach-O'
            $cpu = Read-UInt32 $bytes 4
            $info.Architecture = switch ($cpu) { 0x01000007 { 'x64' } 0x0100000C { 'arm64' } default { '0x{0:X8}' -f $cpu } }
            $info.SharedLibrary = (Read-UInt32 $bytes 12) -eq 6 # MH_DYLIB
        }
        elseif ($bytes.Length -ge 8 -and (Read-UInt32 $bytes 0 -BigEndian) -eq 0xCAFEBABE) {
            # A universal (fat) binary: one Mach-O per architecture. Not what cargo builds, but
            # lipo makes one; it is whole for every architecture it carries.
            $info.Format = 'Mach-O'
            $count = Read-UInt32 $bytes 4 -BigEndian
            $architectures = for ($i = 0; $i -lt $count; $i++) {
                switch (Read-UInt32 $bytes (8 + 20 * $i) -BigEndian) { 0x01000007 { 'x64' } 0x0100000C { 'arm64' } default { 'other' } }
            }
            $info.Architecture = @($architectures)
            $info.SharedLibrary = $true
        }
    }
    catch {
        $info.Problem = "unreadable header: $($_.Exception.Message)"
    }
    [pscustomobject]$info
}

function Test-NativeLibrary {
    <#
    .SYNOPSIS
        The problems (strings; none when it is right) of a native library file meant for
        runtimes/<Runtime>/native/: its name, format, architecture, that it is a shared library,
        and on Windows that it needs no Visual C++ runtime.
    #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Runtime)
    if (-not $script:Runtimes.Contains($Runtime)) { return "'$Runtime' is not a platform the module ships ($($script:Runtimes.Keys -join ', '))" }
    $expected = $script:Runtimes[$Runtime]
    $name = Split-Path $Path -Leaf
    if ($name -cne $expected.File) { "$Runtime needs the file $($expected.File), not $name" }
    $info = Get-NativeBinaryInfo -Path $Path
    if ($info.Problem) { return "${Runtime}: $name has an $($info.Problem)" }
    if ($info.Format -ne $expected.Format) { "${Runtime}: $name is $($info.Format), not $($expected.Format)" }
    elseif ($expected.Architecture -notin @($info.Architecture)) { "${Runtime}: $name is built for $(@($info.Architecture) -join '+'), not $($expected.Architecture)" }
    elseif (-not $info.SharedLibrary) { "${Runtime}: $name is not a shared library" }
    $runtimeDlls = @($info.Imports | Where-Object { $_ -match $script:VisualCRuntimePattern })
    if ($runtimeDlls) { "${Runtime}: $name needs the Visual C++ runtime ($($runtimeDlls -join ', ')): build it with +crt-static (.cargo/config.toml)" }
}

function Get-ChangelogSection {
    <# The text of CHANGELOG.md's section for a version ('## [0.1.0] - 2026-...'), or $null. #>
    param([Parameter(Mandatory)] [string] $Path, [Parameter(Mandatory)] [string] $Version)
    $lines = Get-Content -Path $Path
    $start = -1
    for ($i = 0; $i -lt $lines.Count; $i++) {
        if ($start -lt 0 -and $lines[$i] -match "^## \[$([regex]::Escape($Version))\]") { $start = $i; continue }
        if ($start -ge 0 -and $lines[$i] -match '^## ') { break }
    }
    if ($start -lt 0) { return $null }
    ($lines[($start + 1)..($i - 1)] -join "`n").Trim()
}

function Test-ModulePackage {
    <#
    .SYNOPSIS
        The problems (strings; none when it is ready) of a module folder as the gallery package:
        the manifest's gallery fields, both cmdlet assemblies, help, LICENSE and CHANGELOG, and
        runtimes/ holding exactly the -Runtime platforms, each with the right library.
    #>
    param(
        [Parameter(Mandatory)] [string] $ModulePath,
        [string[]] $Runtime = @($script:Runtimes.Keys),
        # When given, the manifest's ProjectUri must be this (CI passes the repository's address).
        [string] $ProjectUri
    )
    $manifestPath = Join-Path $ModulePath 'MailAccessForensics.psd1'
    if (-not (Test-Path $manifestPath)) { return "no manifest at $manifestPath" }
    try { $null = Test-ModuleManifest -Path $manifestPath -ErrorAction Stop }
    catch { "the manifest is not valid: $($_.Exception.Message)" }
    $manifest = Import-PowerShellDataFile -Path $manifestPath
    foreach ($field in $script:GalleryFields) {
        if (-not $manifest[$field]) { "the manifest has no $field" }
    }
    $data = $manifest.PrivateData.PSData
    foreach ($field in $script:GalleryDataFields) {
        if (-not $data[$field]) { "the manifest has no PrivateData.PSData.$field" }
    }
    if ((@($manifest.CompatiblePSEditions) -join ',') -ne 'Desktop,Core') { 'the manifest must declare CompatiblePSEditions Desktop and Core' }
    if ($ProjectUri -and $data.ProjectUri -ne $ProjectUri) { "the manifest's ProjectUri is '$($data.ProjectUri)', but this repository is '$ProjectUri'" }
    foreach ($uri in @($data['ProjectUri'], $data['LicenseUri'], $data['IconUri']) | Where-Object { $_ }) {
        if (-not [uri]::IsWellFormedUriString($uri, 'Absolute') -or $uri -notmatch '^https://') { "'$uri' is not an absolute https address" }
    }

    foreach ($file in 'bin/net8.0/MailAccessForensics.dll', 'bin/net472/MailAccessForensics.dll', 'en-US/MailAccessForensics.dll-Help.xml', 'LICENSE', 'CHANGELOG.md') {
        if (-not (Test-Path (Join-Path $ModulePath $file))) { "the module has no $file" }
    }
    $changelog = Join-Path $ModulePath 'CHANGELOG.md'
    if ((Test-Path $changelog) -and -not (Get-ChangelogSection -Path $changelog -Version $manifest.ModuleVersion)) {
        "CHANGELOG.md has no section for version $($manifest.ModuleVersion)"
    }

    $runtimesPath = Join-Path $ModulePath 'runtimes'
    $present = if (Test-Path $runtimesPath) { @(Get-ChildItem -Path $runtimesPath -Directory | ForEach-Object Name) } else { @() }
    foreach ($rid in $Runtime | Where-Object { $_ -notin $present }) { "the module has no native library for $rid" }
    foreach ($rid in $present | Where-Object { $_ -notin $Runtime }) { "the module has runtimes/$rid, which the package should not carry" }
    foreach ($rid in $present | Where-Object { $_ -in $Runtime }) {
        $files = @(Get-ChildItem -Path (Join-Path $runtimesPath $rid) -Recurse -File)
        $library = $files | Where-Object { $_.FullName -eq [System.IO.Path]::GetFullPath((Join-Path $runtimesPath "$rid/native/$($script:Runtimes[$rid].File)")) }
        if (-not $library) { "runtimes/$rid has no native/$($script:Runtimes[$rid].File)"; continue }
        foreach ($extra in $files | Where-Object { $_.FullName -ne $library.FullName }) { "runtimes/$rid holds a stray file: $($extra.Name)" }
        Test-NativeLibrary -Path $library.FullName -Runtime $rid
    }
}

Export-ModuleMember -Function Get-SupportedRuntime, Get-HostRuntimeIdentifier, Get-NativeLibraryFileName, Get-NativeBinaryInfo, Test-NativeLibrary, Get-ChangelogSection, Test-ModulePackage
