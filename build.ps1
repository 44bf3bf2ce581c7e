#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks MailAccessForensics.

.DESCRIPTION
    The one entry point for the project:
      Build      cargo builds the native engine, dotnet builds the cmdlet assembly (net8.0 and
                 net472), and both are assembled with module/ into out/MailAccessForensics/.
      Test       Build, then every suite: cargo tests, .NET tests, the .NET/Rust layout check,
                 and Pester in a child pwsh (a loaded native library cannot be unloaded).
                 Ends with one line "N passed, N failed".
      Demo       Build, then the module's main job on the bundled sample investigation.
      Bench      Build, then the benchmark (see -BenchRecords).
      Kql        Writes the KQL query files under kql/ from the engine (the same text
                 Get-MailAccessKqlQuery writes); a test fails when they are stale.
      Bootstrap  Makes Pester 5 available under .tools/ from the NuGet feed, and the Kusto
                 language service (the offline KQL checker) under .tools/kusto from npm.
      Clean      Removes every build output.

.EXAMPLE
    ./build.ps1              # Build
    ./build.ps1 Demo         # build and run the demo
    ./build.ps1 Test         # build and run every test
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Kql', 'Bootstrap', 'Clean')]
    [string[]] $Task = 'Build',

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Number of records the benchmark generates.
    [int] $BenchRecords = 100000
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$Root = $PSScriptRoot
Import-Module (Join-Path $Root 'tools/BuildTools.psm1') -Force
$OutModule = Join-Path $Root 'out/MailAccessForensics'
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

function Get-RuntimeIdentifier {
    $ri = [System.Runtime.InteropServices.RuntimeInformation]
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
    $arch = $ri::ProcessArchitecture.ToString().ToLowerInvariant()
    "$os-$arch"
}

function Get-NativeFileName([string] $Crate = 'maf_native') {
    if ($IsWindows) { "$Crate.dll" } elseif ($IsMacOS) { "lib$Crate.dylib" } else { "lib$Crate.so" }
}

function Get-CargoProfileDir {
    Join-Path (Get-CargoTargetDirectory $Root) ($Configuration -eq 'Release' ? 'release' : 'debug')
}

function Get-CargoProfileArgs {
    if ($Configuration -eq 'Release') { @('--release') } else { @() }
}

function Invoke-Build {
    Assert-Tool cargo 'Install Rust (stable) from https://rustup.rs.'
    Assert-Tool dotnet 'Install the .NET SDK 8 or later from https://dot.net.'

    Write-Step "cargo build ($Configuration)"
    Invoke-Native 'cargo build' { cargo build @(Get-CargoProfileArgs) --locked -p maf-native -p maf-fake-native }

    Write-Step "dotnet build dotnet-shim ($Configuration)"
    Invoke-Native 'dotnet build' { dotnet build (Join-Path $Root 'dotnet-shim/MailAccessForensics.csproj') -c $Configuration --nologo -v quiet }

    Write-Step "assemble $OutModule"
    if (Test-Path $OutModule) { Remove-Item $OutModule -Recurse -Force }
    New-Item -ItemType Directory -Path $OutModule | Out-Null
    Copy-Item -Path (Join-Path $Root 'module/*') -Destination $OutModule -Recurse
    foreach ($framework in 'net8.0', 'net472') {
        $bin = Join-Path $OutModule "bin/$framework"
        New-Item -ItemType Directory -Path $bin -Force | Out-Null
        $built = Join-Path $Root "dotnet-shim/bin/$Configuration/$framework"
        Copy-Item (Join-Path $built "$ModuleName.dll"), (Join-Path $built "$ModuleName.pdb") -Destination $bin
    }
    # The bundled sample investigation: the labelled breach the tests use, as a Purview export.
    $samples = New-Item -ItemType Directory -Path (Join-Path $OutModule 'Samples') -Force
    Copy-Item (Join-Path $Root 'tests/fixtures/breach/breach.purview.csv') -Destination (Join-Path $samples 'ContosoBreach.purview.csv')
    $native = Join-Path $OutModule "runtimes/$(Get-RuntimeIdentifier)/native"
    New-Item -ItemType Directory -Path $native -Force | Out-Null
    Copy-Item (Join-Path (Get-CargoProfileDir) (Get-NativeFileName)) -Destination $native

    Write-Step 'help (MAML from docs/help and the cmdlets)'
    # In a child pwsh: generating imports the module, which loads the native library.
    $helpFile = Join-Path $OutModule "en-US/$ModuleName.dll-Help.xml"
    & (Get-PwshPath) -NoProfile -NonInteractive -File (Join-Path $Root 'tools/New-MamlHelp.ps1') -ModulePath $OutModule -HelpSource (Join-Path $Root 'docs/help') -OutFile $helpFile
    if ($LASTEXITCODE -ne 0) { throw "Generating help failed (exit code $LASTEXITCODE)." }
    Write-Host "Built $OutModule"
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
function Invoke-TestSuite {
    param([string] $Suite, [string] $Pattern, [scriptblock] $Command, [hashtable] $Environment = @{})
    foreach ($name in $Environment.Keys) { Set-Item "Env:$name" $Environment[$name] }
    try {
        $lines = & $Command 2>&1 | ForEach-Object { "$_" }
        $exit = $LASTEXITCODE
    }
    finally {
        foreach ($name in $Environment.Keys) { Remove-Item "Env:$name" }
    }
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

$CargoResultPattern = 'test result: \w+\. (?<passed>\d+) passed; (?<failed>\d+) failed'

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
    Invoke-TestSuite 'dotnet' 'Failed:\s*(?<failed>\d+),\s*Passed:\s*(?<passed>\d+)' { dotnet test $project -c $Configuration --nologo } @{
        MAILACCESSFORENSICS_NATIVE_LIBRARY = Join-Path (Get-CargoProfileDir) (Get-NativeFileName)
    }
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
    $resultFile = Join-Path ([System.IO.Path]::GetTempPath()) "maf-pester-$PID.json"
    $runner = Join-Path $Root 'tests/Invoke-PesterSuite.ps1'
    $pwsh = Get-PwshPath
    & $pwsh -NoProfile -NonInteractive -File $runner -PesterModule $pester -ModulePath $OutModule -ResultFile $resultFile -FakeNativeLibrary (Join-Path (Get-CargoProfileDir) (Get-NativeFileName 'maf_fake_native'))
    if (Test-Path $resultFile) {
        $result = Get-Content $resultFile -Raw | ConvertFrom-Json
        Remove-Item $resultFile
        Add-SuiteResult 'pester' $result.Passed $result.Failed
    }
    else {
        Add-SuiteResult 'pester' 0 1
    }
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
    Invoke-Build
    if ($Configuration -ne 'Release') {
        Write-Warning "Benchmarking a $Configuration build of the module: its timings say little about a release."
    }

    $arguments = @('-ModulePath', $OutModule, '-Records', $BenchRecords, '-Root', $Root, '-Configuration', $Configuration)
    $settings = [ordered]@{
        MAF_BENCH_SCALE       = '-ScaleFactor'
        MAF_BENCH_REPETITIONS = '-Repetitions'
        MAF_BENCH_SEED_LIMIT  = '-SeedStyleLimit'
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
        'Kql' { Invoke-Kql }
        'Bootstrap' { Invoke-Bootstrap }
        'Clean' { Invoke-Clean }
    }
}
