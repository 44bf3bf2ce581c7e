#!/usr/bin/env pwsh
#Requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks MailAccessForensics.

.DESCRIPTION
    The one entry point for the project:
      Build      cargo builds the native engine for this machine's platform, dotnet builds the
                 cmdlet assembly (net8.0 and net472), and both are assembled with module/ into
                 out/MailAccessForensics/. The native library is also staged with a stamp of
                 its build in out/natives/<rid>/, for Package on another machine.
      Test       Build, then every suite: the gates (cargo fmt --check, cargo clippy -D
                 warnings, dotnet format --verify-no-changes, the generated C# as committed;
                 one test each), cargo tests, .NET tests, the .NET/Rust layout
                 check, and Pester in a child pwsh (a loaded native library cannot be
                 unloaded). .NET and Pester write their results to out/test-results/ (TRX,
                 JUnit XML) and are counted from those files. Ends with one line
                 "N passed, N failed".
      Demo       Build, then the module's main job on the bundled sample investigation.
      Bench      Build, then the benchmark (see -BenchRecords).
      Package    Build, then merge the natives built on other machines (-NativePath: folders
                 holding out/natives/<rid>/ of their builds) into out/MailAccessForensics/,
                 check it is complete for every -Runtime and ready for the gallery, import it,
                 and write out/package/MailAccessForensics.<version>.nupkg.
      Kql        Writes the KQL query files under kql/ from the engine (the same text
                 Get-MailAccessKqlQuery writes); a test fails when they are stale.
      Bootstrap  Makes Pester 5 available under .tools/ from the NuGet feed, and the Kusto
                 language service (the offline KQL checker) under .tools/kusto from npm.
      Clean      Removes every build output.

.EXAMPLE
    ./build.ps1              # Build
    ./build.ps1 Demo         # build and run the demo
    ./build.ps1 Test         # build and run every test
    ./build.ps1 Package -NativePath ./natives                            # every platform (CI)
    ./build.ps1 Package -NativePath ./natives -Runtime linux-x64,win-x64 # some of them
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Package', 'Kql', 'Bootstrap', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Number of records the benchmark generates.
    [int] $BenchRecords = 100000,

    # Package: folders holding native builds of other machines (out/natives/<rid>/ of their
    # Build, searched recursively for build.json).
    [string[]] $NativePath = @(),

    # Package: the platforms the package must carry, no more and no fewer (default: every one
    # the module ships). Commas separate them also in `pwsh -File build.ps1 ... -Runtime a,b`.
    [string[]] $Runtime = @(),

    # Package: the repository's address; the manifest's ProjectUri must be it (CI passes it).
    [string] $ProjectUri
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$Root = $PSScriptRoot
Import-Module (Join-Path $Root 'tools/BuildTools.psm1') -Force
Import-Module (Join-Path $Root 'tools/PackageTools.psm1') -Force
$OutModule = Join-Path $Root 'out/MailAccessForensics'
$OutNatives = Join-Path $Root 'out/natives'
$ToolsDir = Join-Path $Root '.tools'
$PesterVersion = '5.7.1'
$ModuleName = 'MailAccessForensics'

function Write-Step([string] $Message) {
    Write-Host "==> $Message" -ForegroundColor Cyan
}

function Assert-Tool([string] $Name, [string] $Hint) {
    if (-not (Get-Command $Name -ErrorAction SilentlyContinue)) {
        throw "'$Name' was not found on PATH. $Hint"
    }
}

function Invoke-Native([string] $Description, [scriptblock] $Command) {
    & $Command
    if ($LASTEXITCODE -ne 0) {
        throw "$Description failed (exit code $LASTEXITCODE)."
    }
}

# The platform the module is built for: this pwsh's own (its loader asks for that one, and
# the help and the tests load the library into it), which is not always rustc's host (an x64
# pwsh emulated on an arm64 machine, or the reverse).
$HostRuntime = Get-HostRuntimeIdentifier
$HostTarget = Get-SupportedRuntime | Where-Object Runtime -EQ $HostRuntime
$script:RustHostTriple = $null

$Runtime = @($Runtime -split ',' | ForEach-Object Trim | Where-Object { $_ })
if (-not $Runtime) { $Runtime = @((Get-SupportedRuntime).Runtime) }
foreach ($rid in $Runtime | Where-Object { $_ -notin (Get-SupportedRuntime).Runtime }) {
    throw "-Runtime $rid is not a platform the module ships ($((Get-SupportedRuntime).Runtime -join ', '))."
}

function Get-NativeFileName([string] $Crate = 'maf_native') {
    Get-NativeLibraryFileName -Runtime $HostRuntime -Crate $Crate
}

function Get-RustHostTriple {
    $line = rustc -vV | Where-Object { $_ -like 'host: *' }
    if (-not $line) { throw "rustc -vV did not name its host." }
    $line.Substring(6).Trim()
}

# --target for the host platform's triple when rustc's own host is another one; nothing (the
# plain target/<profile>/ folder every other cargo command shares) when they agree.
function Get-CargoTargetArgs {
    if (-not $HostTarget) { return @() }
    if ($null -eq $script:RustHostTriple) { $script:RustHostTriple = Get-RustHostTriple }
    if ($HostTarget.Triple -eq $script:RustHostTriple) { @() } else { @('--target', $HostTarget.Triple) }
}

function Get-CargoProfileDir {
    $target = Get-CargoTargetDirectory $Root
    $targetArgs = @(Get-CargoTargetArgs)
    if ($targetArgs) { $target = Join-Path $target $targetArgs[1] }
    Join-Path $target $(if ($Configuration -eq 'Release') { 'release' } else { 'debug' })
}

function Get-CargoProfileArgs {
    if ($Configuration -eq 'Release') { @('--release') } else { @() }
}

# What Package compares between natives built on different machines: the same commit of the
# same version, the same ABI, the same configuration.
function Get-BuildStamp {
    $commit = $null
    if (Get-Command git -ErrorAction SilentlyContinue) {
        $head = git -C $Root rev-parse HEAD 2>$null
        if ($LASTEXITCODE -eq 0 -and $head) {
            $dirty = git -C $Root status --porcelain --untracked-files=no 2>$null
            $commit = if ($dirty) { "$head+dirty" } else { "$head" }
        }
    }
    $abi = Select-String -Path (Join-Path $Root 'rust/ffi/src/abi.rs') -Pattern 'pub const MAF_ABI_VERSION: u32 = (\d+);' | Select-Object -First 1
    if (-not $abi) { throw 'MAF_ABI_VERSION was not found in rust/ffi/src/abi.rs.' }
    [ordered]@{
        ModuleVersion = (Import-PowerShellDataFile (Join-Path $Root "module/$ModuleName.psd1")).ModuleVersion
        AbiVersion    = [int]$abi.Matches[0].Groups[1].Value
        Commit        = $commit
        Configuration = $Configuration
    }
}

# Every task that needs the build calls Invoke-Build; it runs once per invocation of this script
# (`./build.ps1 Build,Test` builds once).
$script:BuildDone = $false

function Invoke-Build {
    if ($script:BuildDone) {
        Write-Step 'build: done earlier in this run'
        return
    }
    Assert-Tool cargo 'Install Rust (stable) from https://rustup.rs.'
    Assert-Tool dotnet 'Install the .NET SDK 8 or later from https://dot.net.'

    if ($HostTarget) {
        Write-Step "cargo build ($Configuration, ${HostRuntime}: $($HostTarget.Triple))"
    }
    else {
        Write-Warning "This platform ($HostRuntime) is not one the module ships ($((Get-SupportedRuntime).Runtime -join ', ')): building it with rustc's host target, untested."
        Write-Step "cargo build ($Configuration, $HostRuntime)"
    }
    $targetArgs = @(Get-CargoTargetArgs)
    Invoke-Native 'cargo build' { cargo build @(Get-CargoProfileArgs) @targetArgs --locked -p maf-native -p maf-fake-native }

    Write-Step "dotnet build dotnet-shim ($Configuration)"
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $Root 'dotnet-shim/MailAccessForensics.csproj') -c $Configuration --nologo -v quiet }

    Write-Step "assemble $OutModule"
    if (Test-Path $OutModule) { Remove-Item $OutModule -Recurse -Force }
    New-Item -ItemType Directory -Path $OutModule | Out-Null
    Copy-Item -Path (Join-Path $Root 'module/*') -Destination $OutModule -Recurse
    Copy-Item -Path (Join-Path $Root 'LICENSE'), (Join-Path $Root 'CHANGELOG.md') -Destination $OutModule
    foreach ($framework in 'net8.0', 'net472') {
        $bin = Join-Path $OutModule "bin/$framework"
        New-Item -ItemType Directory -Path $bin -Force | Out-Null
        $built = Join-Path $Root "dotnet-shim/bin/$Configuration/$framework"
        Copy-Item (Join-Path $built "$ModuleName.dll"), (Join-Path $built "$ModuleName.pdb") -Destination $bin
    }
    # The bundled sample investigation: the labelled breach the tests use, as a Purview export.
    $samples = New-Item -ItemType Directory -Path (Join-Path $OutModule 'Samples') -Force
    Copy-Item (Join-Path $Root 'tests/fixtures/breach/breach.purview.csv') -Destination (Join-Path $samples 'ContosoBreach.purview.csv')
    $library = Join-Path (Get-CargoProfileDir) (Get-NativeFileName)
    $native = Join-Path $OutModule "runtimes/$HostRuntime/native"
    New-Item -ItemType Directory -Path $native -Force | Out-Null
    Copy-Item $library -Destination $native
    if ($HostTarget) {
        $problems = @(Test-NativeLibrary -Path (Join-Path $native (Get-NativeFileName)) -Runtime $HostRuntime)
        if ($problems) { throw "The native library cargo built is not right for ${HostRuntime}: $($problems -join '; ')" }
    }
    # The same library with a stamp of its build, for Package on another machine.
    $staged = Join-Path $OutNatives $HostRuntime
    if (Test-Path $staged) { Remove-Item $staged -Recurse -Force }
    New-Item -ItemType Directory -Path $staged -Force | Out-Null
    Copy-Item $library -Destination $staged
    $stamp = Get-BuildStamp
    $stamp.Runtime = $HostRuntime
    $stamp.File = Get-NativeFileName
    $stamp.Sha256 = (Get-FileHash -Path $library -Algorithm SHA256).Hash
    $stamp | ConvertTo-Json | Set-Content -Path (Join-Path $staged 'build.json') -Encoding utf8

    Write-Step 'help (MAML from docs/help and the cmdlets)'
    # In a child pwsh: generating imports the module, which loads the native library.
    $helpFile = Join-Path $OutModule "en-US/$ModuleName.dll-Help.xml"
    & (Get-PwshPath) -NoProfile -NonInteractive -File (Join-Path $Root 'tools/New-MamlHelp.ps1') -ModulePath $OutModule -HelpSource (Join-Path $Root 'docs/help') -OutFile $helpFile
    if ($LASTEXITCODE -ne 0) { throw "Generating help failed (exit code $LASTEXITCODE)." }
    Write-Host "Built $OutModule"
    $script:BuildDone = $true
}

function Get-PesterModulePath {
    $local = Join-Path $ToolsDir "nuget/pester/$PesterVersion/tools/Pester.psd1"
    if (Test-Path $local) { return $local }
    $installed = Get-Module -ListAvailable Pester | Where-Object { $_.Version -ge [version]'5.0' -and $_.Version -lt [version]'6.0' } |
        Sort-Object Version -Descending | Select-Object -First 1
    if ($installed) { return $installed.Path }
    return $null
}

# The offline KQL checker's dependency, pinned in tools/kusto/package-lock.json.
$KustoDir = Join-Path $ToolsDir 'kusto'

function Test-KustoLanguageService {
    Test-Path (Join-Path $KustoDir 'node_modules/@kusto/language-service-next/Kusto.Language.Bridge.js')
}

function Install-KustoLanguageService {
    if (Test-KustoLanguageService) {
        Write-Host "Kusto language service available: $KustoDir"
        return
    }
    Assert-Tool npm 'Install Node.js and npm (the KQL tests check every query with the Kusto language service).'
    Write-Step "npm ci the Kusto language service into $KustoDir"
    New-Item -ItemType Directory -Path $KustoDir -Force | Out-Null
    Copy-Item (Join-Path $Root 'tools/kusto/package.json'), (Join-Path $Root 'tools/kusto/package-lock.json') -Destination $KustoDir
    Push-Location $KustoDir
    try {
        Invoke-Native 'npm ci (Kusto language service)' { npm ci --no-audit --no-fund --loglevel=error }
    }
    finally {
        Pop-Location
    }
    if (-not (Test-KustoLanguageService)) { throw "npm ci ran but the Kusto language service is not in $KustoDir." }
}

function Invoke-Bootstrap {
    Install-KustoLanguageService
    if (Get-PesterModulePath) {
        Write-Host "Pester 5 available: $(Get-PesterModulePath)"
        return
    }
    Assert-Tool dotnet 'Install the .NET SDK 8 or later from https://dot.net.'
    Write-Step "fetch Pester $PesterVersion from the NuGet feed into $ToolsDir"
    # A project that only downloads the package: the NuGet feed is all that is needed (no
    # PowerShell Gallery).
    $project = Join-Path $ToolsDir 'pester.proj'
    New-Item -ItemType Directory -Path $ToolsDir -Force | Out-Null
    Set-Content -Path $project -Value @"
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net8.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[$PesterVersion]" /></ItemGroup>
</Project>
"@
    Invoke-Native 'dotnet restore (Pester)' { dotnet restore $project --packages (Join-Path $ToolsDir 'nuget') --nologo -v quiet }
    if (-not (Get-PesterModulePath)) {
        throw "Pester $PesterVersion was restored but its module was not found under $ToolsDir/nuget/pester."
    }
    Write-Host "Pester 5 available: $(Get-PesterModulePath)"
}

# One result line per suite; the run ends with their sum.
$script:SuiteResults = [System.Collections.Generic.List[object]]::new()

function Add-SuiteResult([string] $Suite, [int] $Passed, [int] $Failed) {
    $script:SuiteResults.Add([pscustomobject]@{ Suite = $Suite; Passed = $Passed; Failed = $Failed })
}

# Runs a test command with $Environment set, echoes its output and records its counts, summed
# over the lines that match $Pattern (named groups passed and failed). A command that fails with
# no failed test (a build error) counts as one failure.
# Runs $Body with the variables of $Variables set, and puts back what was there before (a
# variable the caller had keeps its value; one it did not have goes). The names of its
# parameters must not be ones $Body uses: it runs in a scope below this function's.
function Invoke-WithEnvironment([hashtable] $Variables, [scriptblock] $Body) {
    $saved = @{}
    foreach ($name in $Variables.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Variables[$name])
    }
    try {
        & $Body
    }
    finally {
        foreach ($name in $Variables.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

function Invoke-TestSuite {
    param([string] $Suite, [string] $Pattern, [scriptblock] $Command, [hashtable] $Environment = @{})
    $lines = Invoke-WithEnvironment $Environment { & $Command 2>&1 | ForEach-Object { "$_" } }
    $exit = $LASTEXITCODE
    $lines | Write-Host
    $passed = 0; $failed = 0
    foreach ($line in $lines) {
        if ($line -match $Pattern) {
            $passed += [int]$Matches.passed; $failed += [int]$Matches.failed
        }
    }
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    Add-SuiteResult $Suite $passed $failed
}

# Cargo has no stable structured test output (libtest's JSON format needs a nightly toolchain):
# its suites are counted from their "test result:" lines.
$CargoResultPattern = 'test result: \w+\. (?<passed>\d+) passed; (?<failed>\d+) failed'

# Where the suites that write result files (dotnet's TRX, Pester's JUnit XML) put them; emptied
# at the start of each Test run and kept after it, for reading a failure.
$TestResultsDir = Join-Path $Root 'out/test-results'

function Initialize-TestResultsDir {
    if (Test-Path $TestResultsDir) { Remove-Item $TestResultsDir -Recurse -Force }
    $null = New-Item -ItemType Directory -Path $TestResultsDir -Force
}

# Runs a gate (a check with no tests of its own) and counts it as one test: passed when the
# command exits 0. A gate that cannot run (its tool is missing) fails: it must not read as passed.
function Invoke-Gate {
    param([string] $Suite, [scriptblock] $Available, [string] $Missing, [scriptblock] $Command)
    & $Available *> $null
    if ($LASTEXITCODE -ne 0) {
        Write-Host "$Suite cannot run: $Missing" -ForegroundColor Red
        Add-SuiteResult $Suite 0 1
        return
    }
    & $Command 2>&1 | ForEach-Object { "$_" } | Write-Host
    if ($LASTEXITCODE -eq 0) { Add-SuiteResult $Suite 1 0 } else { Add-SuiteResult $Suite 0 1 }
}

function Invoke-RustGates {
    Write-Step 'cargo fmt --check'
    Invoke-Gate 'cargo-fmt' { cargo fmt --version } 'rustfmt is missing (rustup component add rustfmt).' {
        cargo fmt --all --check
    }
    Write-Step 'cargo clippy -D warnings'
    Invoke-Gate 'cargo-clippy' { cargo clippy --version } 'clippy is missing (rustup component add clippy).' {
        cargo clippy --locked --workspace --all-targets -- -D warnings
    }
}

# dotnet format of the shim and its tests, with the SDK's rules and .editorconfig (generated
# files, marked <auto-generated>, are left out); one test for both projects.
function Invoke-DotnetFormatGate {
    Write-Step 'dotnet format --verify-no-changes'
    Invoke-Gate 'dotnet-format' { dotnet format --version } 'dotnet format is missing (it ships with the .NET SDK 6 and later).' {
        foreach ($project in 'dotnet-shim/MailAccessForensics.csproj', 'dotnet-shim/tests/MailAccessForensics.Tests.csproj') {
            dotnet format (Join-Path $Root $project) --verify-no-changes
            if ($LASTEXITCODE -ne 0) { return }
        }
    }
}

# Written by rust/ffi/build.rs during the build, and committed: a change to the exports or to
# the vocabulary commits its generated twin with it. In a clean clone (CI) the build writes them
# afresh, so a committed file that is stale shows here.
$GeneratedFiles = @('dotnet-shim/src/Native/NativeMethods.g.cs', 'dotnet-shim/src/Native/Vocabulary.g.cs')

function Invoke-GeneratedCheck {
    Write-Step 'generated files as committed'
    Invoke-Gate 'generated' { git -C $Root rev-parse --git-dir } 'git is missing, or this is not a git checkout.' {
        $drifted = @(git -C $Root status --porcelain --untracked-files=all -- @GeneratedFiles)
        if ($LASTEXITCODE -ne 0) { return }
        if ($drifted) {
            "The generated files differ from the committed ones (commit what rust/ffi/build.rs wrote):"
            $drifted
            $global:LASTEXITCODE = 1
        }
    }
}

function Invoke-CargoTests {
    Write-Step 'cargo test'
    # maf-dotnet-check needs the built shim and a .NET runtime: Invoke-LayoutCheck runs it.
    Invoke-TestSuite 'cargo' $CargoResultPattern { cargo test @(Get-CargoProfileArgs) --locked --workspace --exclude maf-dotnet-check }
}

function Invoke-DotnetTests {
    Write-Step 'dotnet test'
    $sdk = [version]((dotnet --version) -replace '-.*$', '')
    if ($sdk.Major -lt 10) {
        # Counted as a failure: a suite that did not run must not read as passed.
        Write-Host ".NET tests need the .NET SDK 10 (they host PowerShell 7.6); found $sdk." -ForegroundColor Red
        Add-SuiteResult 'dotnet' 0 1
        return
    }
    $project = Join-Path $Root 'dotnet-shim/tests/MailAccessForensics.Tests.csproj'
    # Counted from the run's TRX file, not from the console.
    $trx = Join-Path $TestResultsDir 'dotnet.trx'
    Invoke-WithEnvironment @{ MAILACCESSFORENSICS_NATIVE_LIBRARY = Join-Path (Get-CargoProfileDir) (Get-NativeFileName) } {
        dotnet test $project -c $Configuration --nologo --logger 'trx;LogFileName=dotnet.trx' --results-directory $TestResultsDir 2>&1 | ForEach-Object { "$_" } | Write-Host
    }
    $exit = $LASTEXITCODE
    $counts = Read-TrxCounts $trx
    if (-not $counts) {
        Write-Host "dotnet test wrote no results ($trx); exit code $exit." -ForegroundColor Red
        Add-SuiteResult 'dotnet' 0 1
        return
    }
    $failed = $counts.Failed
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    Add-SuiteResult 'dotnet' $counts.Passed $failed
}

# The counters of a TRX file (VSTest's results): passed, and everything that did not pass and
# was meant to run (failed, error, timeout, aborted). Null when the file is missing or unreadable.
function Read-TrxCounts([string] $Path) {
    if (-not (Test-Path $Path)) { return $null }
    try {
        $counters = ([xml](Get-Content -Path $Path -Raw)).TestRun.ResultSummary.Counters
    }
    catch {
        return $null
    }
    if (-not $counters) { return $null }
    $failed = 0
    foreach ($name in 'failed', 'error', 'timeout', 'aborted') {
        if ($counters.$name) { $failed += [int]$counters.$name }
    }
    [pscustomobject]@{ Passed = [int]$counters.passed; Failed = $failed }
}

function Invoke-LayoutCheck {
    Write-Step 'ABI layout check (Rust hosts .NET through netcorehost)'
    Invoke-TestSuite 'abi-layout' $CargoResultPattern { cargo test @(Get-CargoProfileArgs) --locked -p maf-dotnet-check } @{
        MAF_SHIM_ASSEMBLY                  = Join-Path $Root "dotnet-shim/bin/$Configuration/net8.0/$ModuleName.dll"
        MAILACCESSFORENSICS_NATIVE_LIBRARY = Join-Path (Get-CargoProfileDir) (Get-NativeFileName)
    }
}

function Invoke-PesterTests {
    Write-Step 'Pester (child pwsh -NoProfile)'
    $pester = Get-PesterModulePath
    if (-not $pester -or -not (Test-KustoLanguageService)) {
        Invoke-Bootstrap
        $pester = Get-PesterModulePath
    }
    # Counted from the run's JUnit XML file, not from the console.
    $resultFile = Join-Path $TestResultsDir 'pester.xml'
    $runner = Join-Path $Root 'tests/Invoke-PesterSuite.ps1'
    $pwsh = Get-PwshPath
    & $pwsh -NoProfile -NonInteractive -File $runner -PesterModule $pester -ModulePath $OutModule -ResultFile $resultFile -FakeNativeLibrary (Join-Path (Get-CargoProfileDir) (Get-NativeFileName 'maf_fake_native'))
    $exit = $LASTEXITCODE
    $counts = Read-JUnitCounts $resultFile
    if (-not $counts) {
        Write-Host "Pester wrote no results ($resultFile); exit code $exit." -ForegroundColor Red
        Add-SuiteResult 'pester' 0 1
        return
    }
    $failed = $counts.Failed
    if ($exit -ne 0 -and $failed -eq 0) { $failed = 1 }
    Add-SuiteResult 'pester' $counts.Passed $failed
}

# The counts of a JUnit XML file as Pester 5 writes it: passed, the test cases whose status is
# Passed; failed, the failed tests (failures) and the failed BeforeAll/AfterAll blocks and test
# files (errors), as Pester's own summary counts them. Null when the file is missing or unreadable.
# (JUnit rather than Pester's NUnit 2.5, whose totals leave failed blocks and files out.)
function Read-JUnitCounts([string] $Path) {
    if (-not (Test-Path $Path)) { return $null }
    try {
        $suites = ([xml](Get-Content -Path $Path -Raw)).testsuites
    }
    catch {
        return $null
    }
    if (-not $suites -or $suites -is [string]) { return $null }
    $passed = @($suites.SelectNodes("testsuite/testcase[@status='Passed']")).Count
    [pscustomobject]@{ Passed = $passed; Failed = [int]$suites.failures + [int]$suites.errors }
}

function Write-TestSummary {
    Write-Host ''
    $script:SuiteResults | Format-Table -AutoSize | Out-String | Write-Host
    $passed = ($script:SuiteResults | Measure-Object Passed -Sum).Sum
    $failed = ($script:SuiteResults | Measure-Object Failed -Sum).Sum
    Write-Host "$passed passed, $failed failed"
    if ($failed -gt 0) { exit 1 }
}

function Invoke-Test {
    try {
        Invoke-Build
    }
    catch {
        Write-Host "Build failed: $_" -ForegroundColor Red
        Add-SuiteResult 'build' 0 1
        Write-TestSummary
    }
    Initialize-TestResultsDir
    Invoke-RustGates
    Invoke-DotnetFormatGate
    Invoke-GeneratedCheck
    Invoke-CargoTests
    Invoke-DotnetTests
    Invoke-LayoutCheck
    Invoke-PesterTests
    Write-TestSummary
}

function Invoke-Demo {
    Invoke-Build
    Write-Step 'demo: the bundled sample investigation'
    $pwsh = Get-PwshPath
    & $pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'demo/Invoke-Demo.ps1') -ModulePath $OutModule
    if ($LASTEXITCODE -ne 0) { throw "The demo failed (exit code $LASTEXITCODE)." }
}

function Invoke-Bench {
    # The benchmark (bench/README.md): the module, then bench/Invoke-Benchmark.ps1 in a child
    # pwsh, which builds its Rust tools (the data generator and the parse floor, always
    # optimised). Settings beyond -BenchRecords come from the environment:
    #   MAF_BENCH_SCALE=10          also run 10x the records on the same tenant (time and memory ratios)
    #   MAF_BENCH_REPETITIONS=5     timed repetitions per variant (after one warm-up)
    #   MAF_BENCH_SEED_LIMIT=200000 time the seed-style script on at most this many records (a stated subset)
    #   MAF_BENCH_NO_MEMORY=1       skip the per-variant processes that measure peak memory
    #   MAF_BENCH_SCALE_POINT=3000000  also the verdict in-process over that many records of JSON
    #                               Lines alone (about 1.8 GB a million), memory per stage
    #   MAF_BENCH_INSTRUCTIONS=10000  also instructions a record for the parse floor and each
    #                               engine stage over that many records (needs valgrind):
    #                               the same on every run, where a shared VM's timings are not
    Invoke-Build
    if ($Configuration -ne 'Release') {
        Write-Warning "Benchmarking a $Configuration build of the module: its timings say little about a release."
    }

    $arguments = @('-ModulePath', $OutModule, '-Records', $BenchRecords, '-Root', $Root, '-Configuration', $Configuration)
    $settings = [ordered]@{
        MAF_BENCH_SCALE       = '-ScaleFactor'
        MAF_BENCH_REPETITIONS = '-Repetitions'
        MAF_BENCH_SEED_LIMIT  = '-SeedStyleLimit'
        MAF_BENCH_SCALE_POINT = '-ScalePoint'
        MAF_BENCH_INSTRUCTIONS = '-InstructionRecords'
    }
    foreach ($name in $settings.Keys) {
        $value = [Environment]::GetEnvironmentVariable($name)
        if ($value) {
            if ($value -notmatch '^\d+$') { throw "$name must be a whole number (it is '$value')." }
            $arguments += $settings[$name], $value
        }
    }
    if ($env:MAF_BENCH_NO_MEMORY -and $env:MAF_BENCH_NO_MEMORY -ne '0') { $arguments += '-NoMemory' }

    $scale = if ($env:MAF_BENCH_SCALE) { ", scale check x$($env:MAF_BENCH_SCALE)" } else { '' }
    Write-Step "benchmark ($BenchRecords records$scale)"
    $pwsh = Get-PwshPath
    & $pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'bench/Invoke-Benchmark.ps1') @arguments
    if ($LASTEXITCODE -ne 0) { throw "The benchmark failed (exit code $LASTEXITCODE)." }
}

# The native builds under $NativePath: each build.json (written by Build) with the library
# beside it.
function Get-NativeBuild {
    foreach ($path in $NativePath) {
        if (-not (Test-Path $path)) { throw "-NativePath '$path' does not exist." }
        $found = @(Get-ChildItem -Path $path -Recurse -File -Filter build.json)
        if (-not $found) { throw "-NativePath '$path' holds no native build (no build.json below it: pass the out/natives folder of a Build)." }
        $found
    }
}

function Invoke-Package {
    Invoke-Build
    $expected = Get-BuildStamp
    if (-not $expected.Commit) { throw 'Package needs a git checkout: it compares the commit every native was built from with this one.' }

    Write-Step "merge the natives of other machines into $OutModule"
    $taken = @{}
    foreach ($stampFile in Get-NativeBuild) {
        $problems = @(Test-NativeBuild -StampPath $stampFile.FullName -Expected $expected -Runtime $Runtime)
        if ($problems) { throw "The native build $($stampFile.FullName) cannot be packaged: $($problems -join '; ')." }
        $stamp = Get-Content $stampFile.FullName -Raw | ConvertFrom-Json
        $library = Join-Path $stampFile.DirectoryName $stamp.File
        if ($taken.ContainsKey($stamp.Runtime) -and $taken[$stamp.Runtime] -ne $stamp.Sha256) {
            throw "Two different native builds for $($stamp.Runtime) were given (the second: $($stampFile.FullName)): pass one."
        }
        $taken[$stamp.Runtime] = $stamp.Sha256
        # A native of this machine's platform built elsewhere replaces this build's: it passed
        # the tests on its own machine.
        $native = Join-Path $OutModule "runtimes/$($stamp.Runtime)/native"
        if (Test-Path $native) { Remove-Item $native -Recurse -Force }
        New-Item -ItemType Directory -Path $native -Force | Out-Null
        Copy-Item $library -Destination $native
        Write-Host "  $($stamp.Runtime): $library"
    }
    # This build's own platform is in the package only when asked for.
    if ($HostRuntime -notin $Runtime) { Remove-Item (Join-Path $OutModule "runtimes/$HostRuntime") -Recurse -Force }

    Write-Step "check the package ($($Runtime -join ', '))"
    $problems = @(Test-ModulePackage -ModulePath $OutModule -Runtime $Runtime -ProjectUri $ProjectUri)
    if ($problems) { throw "The module is not ready to package:`n  $($problems -join "`n  ")" }

    Write-Step 'publish to a local repository, install by name, import in a fresh pwsh'
    $packageDir = Join-Path $Root 'out/package'
    if (Test-Path $packageDir) { Remove-Item $packageDir -Recurse -Force }
    $installed = Join-Path $packageDir 'installed'
    $pwsh = Get-PwshPath
    $saved = $env:XDG_DATA_HOME
    # Linux: the repository registration goes to a store of its own, not the user's (a folder
    # that exists: .NET ignores one that does not).
    $env:XDG_DATA_HOME = (New-Item -ItemType Directory -Path (Join-Path $packageDir 'psresourceget') -Force).FullName
    try {
        $nupkg = @(& $pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tools/Publish-LocalPackage.ps1') -ModulePath $OutModule -RepositoryPath $packageDir -InstallPath $installed)[-1]
        if ($LASTEXITCODE -ne 0) { throw "Publishing to a local repository failed (exit code $LASTEXITCODE)." }
    }
    finally {
        $env:XDG_DATA_HOME = $saved
    }
    $env:PSModulePath, $savedModulePath = "$installed$([System.IO.Path]::PathSeparator)$env:PSModulePath", $env:PSModulePath
    try {
        $check = "Import-Module $ModuleName -ErrorAction Stop; " +
            "(Get-Module $ModuleName).ModuleBase; " +
            "(Import-Csv (Join-Path (Get-Module $ModuleName).ModuleBase 'Samples/ContosoBreach.purview.csv') | ConvertFrom-MailItemsAccessed | Measure-Object).Count"
        $output = @(& $pwsh -NoProfile -NonInteractive -Command $check)
        if ($LASTEXITCODE -ne 0 -or $output.Count -ne 2 -or -not "$($output[0])".StartsWith($installed) -or [int]$output[1] -le 0) {
            throw "The installed package did not import and run by name: $($output -join ' | ')"
        }
    }
    finally {
        $env:PSModulePath = $savedModulePath
    }
    Remove-Item (Join-Path $packageDir 'psresourceget') -Recurse -Force -ErrorAction SilentlyContinue
    Write-Host "Packaged $OutModule ($($Runtime -join ', ')): $nupkg"
}

function Invoke-Kql {
    Write-Step 'kql/: the query files, from the engine'
    Invoke-Native 'cargo run maf-kql-files' { cargo run --quiet --locked -p mailaccess-engine --bin maf-kql-files -- (Join-Path $Root 'kql') }
}

function Invoke-Clean {
    foreach ($path in 'out', 'target', 'dotnet-shim/bin', 'dotnet-shim/obj', 'dotnet-shim/tests/bin', 'dotnet-shim/tests/obj', '.tools') {
        $full = Join-Path $Root $path
        if (Test-Path $full) {
            Write-Step "remove $path"
            Remove-Item $full -Recurse -Force
        }
    }
}

foreach ($step in $Task) {
    switch ($step) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Demo' { Invoke-Demo }
        'Bench' { Invoke-Bench }
        'Package' { Invoke-Package }
        'Kql' { Invoke-Kql }
        'Bootstrap' { Invoke-Bootstrap }
        'Clean' { Invoke-Clean }
    }
}
