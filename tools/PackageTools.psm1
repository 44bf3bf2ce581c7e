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

# Mach-O magic numbers (as unsigned: PowerShell reads a hex literal above 0x7FFFFFFF as a negative int).
$script:MachOMagic64 = [Convert]::ToUInt32('FEEDFACF', 16)
$script:MachOFatMagic = [Convert]::ToUInt32('CAFEBABE', 16)

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
        elseif ($bytes.Length -ge 16 -and (Read-UInt32 $bytes 0) -eq $script:MachOMagic64) {
            $info.Format = 'Mach-O'
            $cpu = Read-UInt32 $bytes 4
            $info.Architecture = switch ($cpu) { 0x01000007 { 'x64' } 0x0100000C { 'arm64' } default { '0x{0:X8}' -f $cpu } }
            $info.SharedLibrary = (Read-UInt32 $bytes 12) -eq 6 # MH_DYLIB
        }
        elseif ($bytes.Length -ge 8 -and (Read-UInt32 $bytes 0 -BigEndian) -eq $script:MachOFatMagic) {
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

function Test-NativeBuild {
    <#
    .SYNOPSIS
        The problems (none when it may be packaged) of a native library staged by Build on some
        machine (out/natives/<rid>/: the library and build.json), against the stamp of this
        build: the same module version, ABI, commit and configuration, a platform the package
        is to carry, the very file the stamp describes, and a right library for its platform.
    #>
    param(
        [Parameter(Mandatory)] [string] $StampPath,
        [Parameter(Mandatory)] [System.Collections.IDictionary] $Expected,
        [Parameter(Mandatory)] [string[]] $Runtime
    )
    try { $stamp = Get-Content -LiteralPath $StampPath -Raw | ConvertFrom-Json }
    catch { return "its build.json is not JSON: $($_.Exception.Message)" }
    foreach ($name in @($Expected.Keys) + 'Runtime', 'File', 'Sha256') {
        if (-not $stamp.PSObject.Properties[$name]) { return "its build.json has no $name" }
    }
    foreach ($name in $Expected.Keys) {
        if ("$($stamp.$name)" -cne "$($Expected[$name])") { "its $name is '$($stamp.$name)', this build's is '$($Expected[$name])'" }
    }
    if ($stamp.Runtime -notin $Runtime) { "it is for $($stamp.Runtime), which the package is not to carry" }
    $library = Join-Path (Split-Path $StampPath -Parent) $stamp.File
    if (-not (Test-Path -LiteralPath $library)) { "its library $library is missing" }
    elseif ((Get-FileHash -LiteralPath $library -Algorithm SHA256).Hash -ne $stamp.Sha256) { 'its library is not the file its build.json describes (the SHA-256 differs)' }
    else { Test-NativeLibrary -Path $library -Runtime $stamp.Runtime }
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

# ---- Windows PowerShell 5.1 ------------------------------------------------------------------

# What PowerShell 6 and 7 added that Windows PowerShell 5.1 does not have, as a script of the
# module would meet it. Commands by name; parameters by command; automatic variables.
$script:CoreOnlyCommands = @(
    'Join-String', 'Get-Error', 'Test-Json', 'ConvertFrom-Markdown', 'Show-Markdown', 'Get-MarkdownOption', 'Set-MarkdownOption',
    'Get-Uptime', 'Remove-Alias', 'Remove-Service', 'Get-PSSubsystem', 'Enable-PSSubsystem', 'Disable-PSSubsystem',
    'Get-ExperimentalFeature', 'Enable-ExperimentalFeature', 'Disable-ExperimentalFeature'
)
$script:CoreOnlyParameters = @{
    'ConvertFrom-Json' = 'AsHashtable', 'Depth', 'NoEnumerate', 'DateKind'
    'ConvertTo-Json'   = 'AsArray', 'EscapeHandling', 'EnumsAsStrings'
    'Get-Content'      = 'AsByteStream'
    'Set-Content'      = 'AsByteStream'
    'Add-Content'      = 'AsByteStream'
    'ForEach-Object'   = 'Parallel', 'ThrottleLimit', 'AsJob', 'TimeoutSeconds', 'UseNewRunspace'
    'Split-Path'       = 'LeafBase', 'Extension'
    'Get-Date'         = 'AsUTC', 'UnixTimeSeconds'
    'Join-Path'        = 'AdditionalChildPath'
    'Sort-Object'      = 'Top', 'Bottom', 'Stable'
    'Select-String'    = 'Raw', 'NoEmphasis'
    'Get-Random'       = 'Shuffle'
    'Import-Module'    = 'UseWindowsPowerShell'
    'Test-Connection'  = 'TargetName', 'Ping', 'Traceroute', 'MtuSize', 'TcpPort'
    'Get-ChildItem'    = 'FollowSymlink'
    'Invoke-WebRequest' = 'SkipCertificateCheck', 'Authentication', 'Token', 'SslProtocol', 'SkipHeaderValidation', 'Resume', 'MaximumRetryCount'
    'Invoke-RestMethod' = 'SkipCertificateCheck', 'Authentication', 'Token', 'SslProtocol', 'SkipHeaderValidation', 'Resume', 'MaximumRetryCount', 'StatusCodeVariable', 'ResponseHeadersVariable'
}
$script:CommandAliases = @{ '%' = 'ForEach-Object'; 'foreach' = 'ForEach-Object'; 'gc' = 'Get-Content'; 'cat' = 'Get-Content'; 'type' = 'Get-Content'; 'ac' = 'Add-Content'; 'sort' = 'Sort-Object'; 'sls' = 'Select-String'; 'gci' = 'Get-ChildItem'; 'ls' = 'Get-ChildItem'; 'dir' = 'Get-ChildItem'; 'iwr' = 'Invoke-WebRequest'; 'irm' = 'Invoke-RestMethod'; 'ipmo' = 'Import-Module' }
$script:CoreOnlyVariables = 'IsWindows', 'IsLinux', 'IsMacOS', 'IsCoreCLR', 'PSStyle', 'EnabledExperimentalFeatures', 'PSNativeCommandUseErrorActionPreference', 'PSNativeCommandArgumentPassing'
$script:CoreOnlyEncodings = 'utf8NoBOM', 'utf8BOM', 'ansi'

# The problems of one piece of script text for Windows PowerShell 5.1: "<where>:<line>: <what>".
function Find-CoreOnlySyntax {
    param([Parameter(Mandatory)] [AllowEmptyString()] [string] $Script, [string] $Where = 'script', [int] $FirstLine = 1)
    $tokens = $null; $errors = $null
    $ast = [System.Management.Automation.Language.Parser]::ParseInput($Script, [ref] $tokens, [ref] $errors)
    foreach ($parseError in $errors) { "${Where}:$($parseError.Extent.StartLineNumber + $FirstLine - 1): does not parse: $($parseError.Message)" }
    $found = $ast.FindAll({ $true }, $true)
    foreach ($node in $found) {
        $what = $null
        switch ($node.GetType().Name) {
            'TernaryExpressionAst' { $what = 'the ternary operator (a ? b : c)' }
            'PipelineChainAst' { $what = 'a pipeline chain (&& or ||)' }
            'BinaryExpressionAst' {
                if ("$($node.Operator)" -eq 'QuestionQuestion') { $what = 'the null-coalescing operator (??)' }
                elseif ("$($node.Operator)" -in 'Ireplace', 'Creplace' -and $node.Right -is [System.Management.Automation.Language.ArrayLiteralAst] -and
                    $node.Right.Elements.Count -eq 2 -and $node.Right.Elements[1] -is [System.Management.Automation.Language.ScriptBlockExpressionAst]) {
                    $what = '-replace with a script block'
                }
            }
            'AssignmentStatementAst' { if ("$($node.Operator)" -eq 'QuestionQuestionEquals') { $what = 'the null-coalescing assignment (??=)' } }
            { $_ -in 'MemberExpressionAst', 'InvokeMemberExpressionAst', 'IndexExpressionAst' } {
                if ($node.PSObject.Properties['NullConditional'] -and $node.NullConditional) { $what = 'a null-conditional access (?. or ?[])' }
            }
            'PipelineAst' { if ($node.PSObject.Properties['Background'] -and $node.Background) { $what = 'a background pipeline (&)' } }
            'ScriptBlockAst' { if ($node.PSObject.Properties['CleanBlock'] -and $node.CleanBlock) { $what = 'a clean block' } }
            'VariableExpressionAst' { if ($node.VariablePath.UserPath -in $script:CoreOnlyVariables) { $what = "the variable `$$($node.VariablePath.UserPath)" } }
            { $_ -in 'StringConstantExpressionAst', 'ExpandableStringExpressionAst' } {
                if ("$($node.StringConstantType)" -like 'DoubleQuoted*' -and $node.Extent.Text -match '`u\{') { $what = 'a `u{...} escape' }
            }
            'CommandAst' {
                $name = $node.GetCommandName()
                if ($name) {
                    if ($script:CommandAliases.ContainsKey($name)) { $name = $script:CommandAliases[$name] }
                    $canonical = $script:CoreOnlyCommands | Where-Object { $_ -eq $name }
                    if ($canonical) { $what = "the command $canonical" }
                    $key = $script:CoreOnlyParameters.Keys | Where-Object { $_ -eq $name }
                    if (-not $what -and $key) {
                        foreach ($element in $node.CommandElements) {
                            if ($element -isnot [System.Management.Automation.Language.CommandParameterAst]) { continue }
                            $used = $element.ParameterName
                            $hit = $script:CoreOnlyParameters[$key] | Where-Object { $_ -eq $used -or ($used.Length -ge 3 -and $_.StartsWith($used, [StringComparison]::OrdinalIgnoreCase)) } | Select-Object -First 1
                            if ($hit) { $what = "$key -$hit"; break }
                        }
                    }
                    if (-not $what) {
                        $encoding = $node.CommandElements | Where-Object { $_ -is [System.Management.Automation.Language.CommandParameterAst] -and $_.ParameterName -eq 'Encoding' } | Select-Object -First 1
                        if ($encoding) {
                            $index = [array]::IndexOf(@($node.CommandElements), $encoding)
                            $value = if ($encoding.Argument) { $encoding.Argument } elseif ($index + 1 -lt $node.CommandElements.Count) { $node.CommandElements[$index + 1] }
                            if ($value -is [System.Management.Automation.Language.StringConstantExpressionAst] -and $value.Value -in $script:CoreOnlyEncodings) { $what = "-Encoding $($value.Value)" }
                        }
                    }
                }
            }
        }
        if ($what) { "${Where}:$($node.Extent.StartLineNumber + $FirstLine - 1): $what is PowerShell 7 only" }
    }
}

function Find-WindowsPowerShellIncompatibility {
    <#
    .SYNOPSIS
        What in one file the module ships would not work in Windows PowerShell 5.1: PowerShell
        6/7 syntax, commands, parameters and variables in scripts (.ps1, .psm1, .psd1, and the
        script blocks of .ps1xml format and type files), and text that 5.1 would read in the
        wrong encoding (it reads a file without a byte order mark as the ANSI code page).
        Returns problems as "<file>:<line>: <what>"; none when the file is fine.
    #>
    param([Parameter(Mandatory)] [string] $Path)
    $full = (Resolve-Path -LiteralPath $Path).ProviderPath
    $name = Split-Path $full -Leaf
    $extension = [System.IO.Path]::GetExtension($full).ToLowerInvariant()
    $bytes = [System.IO.File]::ReadAllBytes($full)
    $hasBom = $bytes.Length -ge 3 -and $bytes[0] -eq 0xEF -and $bytes[1] -eq 0xBB -and $bytes[2] -eq 0xBF
    $hasBom = $hasBom -or ($bytes.Length -ge 2 -and (($bytes[0] -eq 0xFF -and $bytes[1] -eq 0xFE) -or ($bytes[0] -eq 0xFE -and $bytes[1] -eq 0xFF)))
    if ($extension -in '.ps1', '.psm1', '.psd1', '.txt', '.csv' -and -not $hasBom -and [regex]::IsMatch([System.Text.Encoding]::Latin1.GetString($bytes), '[^\x00-\x7F]')) {
        "${name}: has non-ASCII text without a byte order mark (Windows PowerShell 5.1 would read it as ANSI): keep it ASCII or save it as UTF-8 with BOM"
    }
    switch ($extension) {
        { $_ -in '.ps1', '.psm1', '.psd1' } { Find-CoreOnlySyntax -Script ([System.IO.File]::ReadAllText($full)) -Where $name }
        '.ps1xml' {
            $document = [System.Xml.XmlDocument]::new()
            $document.PreserveWhitespace = $true
            try { $document.Load($full) } catch { "${name}: is not well-formed XML: $($_.Exception.Message)"; return }
            # Format files: ScriptBlock; type files: GetScriptBlock, SetScriptBlock, Script.
            $text = [System.IO.File]::ReadAllText($full)
            foreach ($match in [regex]::Matches($text, '<(ScriptBlock|GetScriptBlock|SetScriptBlock|Script)>(.*?)</\1>', 'Singleline')) {
                $line = ([regex]::Matches($text.Substring(0, $match.Index), "`n")).Count + 1
                Find-CoreOnlySyntax -Script ([System.Net.WebUtility]::HtmlDecode($match.Groups[2].Value)) -Where $name -FirstLine $line
            }
        }
    }
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

    foreach ($file in Get-ChildItem -Path $ModulePath -Recurse -File | Where-Object { $_.FullName -notlike "*$([System.IO.Path]::DirectorySeparatorChar)runtimes$([System.IO.Path]::DirectorySeparatorChar)*" }) {
        Find-WindowsPowerShellIncompatibility -Path $file.FullName
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

Export-ModuleMember -Function Get-SupportedRuntime, Get-HostRuntimeIdentifier, Get-NativeLibraryFileName, Get-NativeBinaryInfo, Test-NativeLibrary, Test-NativeBuild, Get-ChangelogSection, Find-CoreOnlySyntax, Find-WindowsPowerShellIncompatibility, Test-ModulePackage
