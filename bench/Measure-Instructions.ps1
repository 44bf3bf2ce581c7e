#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Instructions a record for the parse floor and each engine stage, counted by valgrind's
    callgrind: the same on every run, where the timings of a shared VM move by half.

.DESCRIPTION
    Runs the parse_floor bench binary (built optimised, as `cargo bench` builds it) under
    callgrind four times over the first -Records lines of an AuditData JSON Lines file: the
    floor (`parse_all`), then each cumulative engine stage (`engine_pass` with
    --engine-stage interpret, session, verdict), one pass each, counting only inside that
    function. Prints instructions a record and the ratio to the floor's, and returns them.

    Instructions are not time: cache misses, page faults and the kernel (the verdict's
    temporary file) cost time they do not count. Use them to compare two builds of the same
    code path; carry speed claims with the timed benchmark.

    Needs valgrind (`apt-get install valgrind`).

.EXAMPLE
    ./bench/Measure-Instructions.ps1 -Path target/maf-bench-data/n100000-s1/auditdata.jsonl
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $Path,
    [ValidateRange(100, 1000000)] [int] $Records = 10000,
    [string] $AttackerIPAddress = '203.0.113.77',
    [string] $Root = (Split-Path $PSScriptRoot -Parent)
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

if (-not (Get-Command valgrind -CommandType Application -ErrorAction SilentlyContinue)) {
    throw 'valgrind is not installed (apt-get install valgrind): instructions are counted by its callgrind tool.'
}

# The bench binary's path, from cargo's own account of what it built.
Push-Location $Root
try {
    $built = & cargo bench --locked -q -p maf-bench --bench parse_floor --no-run --message-format=json |
        ForEach-Object { $_ | ConvertFrom-Json } |
        Where-Object { $_.PSObject.Properties['executable'] -and $_.executable -and $_.target.name -eq 'parse_floor' }
    if ($LASTEXITCODE -ne 0 -or -not $built) { throw "building the parse_floor benchmark failed (exit code $LASTEXITCODE)." }
    $binary = @($built)[-1].executable
}
finally {
    Pop-Location
}

# The first lines only: callgrind runs some 50 times slower than the CPU.
Import-Module (Join-Path $PSScriptRoot 'BenchHelpers.psm1')
$sample = Join-Path ([System.IO.Path]::GetTempPath()) "maf-bench-instructions-$PID.jsonl"

$runs = @(
    [pscustomobject]@{ Name = 'floor: parse (serde_json)'; Function = 'parse_all'; Arguments = @() }
    [pscustomobject]@{ Name = 'engine: interpret_json only'; Function = 'engine_pass'; Arguments = @('--engine-stage', 'interpret') }
    [pscustomobject]@{ Name = 'engine: + session'; Function = 'engine_pass'; Arguments = @('--engine-stage', 'session') }
    [pscustomobject]@{ Name = 'engine: + verdict'; Function = 'engine_pass'; Arguments = @('--engine-stage', 'verdict') }
)
$floor = $null
try {
    New-SampleFile -Path (Resolve-Path $Path).ProviderPath -Lines $Records -Destination $sample
    foreach ($run in $runs) {
        $out = "$sample.callgrind"
        $json = "$sample.json"
        $log = & valgrind --tool=callgrind "--callgrind-out-file=$out" "--toggle-collect=*$($run.Function)*" $binary `
            --input $sample --repetitions 1 --warmup 0 --min-seconds 0 --attacker-ip $AttackerIPAddress --json-out $json @($run.Arguments) 2>&1
        if ($LASTEXITCODE -ne 0) { throw "callgrind over $($run.Name) failed (exit code $LASTEXITCODE): $($log | Select-Object -Last 5)" }
        Remove-Item $out -ErrorAction SilentlyContinue
        # The records as the bench binary split them (blank lines are not records).
        $taken = [long](Get-Content $json -Raw | ConvertFrom-Json).records
        Remove-Item $json
        $collected = $log | ForEach-Object { "$_" } | Select-String -Pattern 'Collected\s*:\s*([\d,]+)' | Select-Object -Last 1
        if (-not $collected) { throw "callgrind over $($run.Name) printed no count." }
        $instructions = [double]($collected.Matches[0].Groups[1].Value -replace ',', '')
        $perRecord = $instructions / $taken
        if (-not $floor) { $floor = $perRecord }
        [pscustomobject]@{
            Stage                 = $run.Name
            Records               = $taken
            InstructionsPerRecord = [long][math]::Round($perRecord)
            RatioToFloor          = [math]::Round($perRecord / $floor, 3)
        }
    }
}
finally {
    Remove-Item $sample -ErrorAction SilentlyContinue
}
