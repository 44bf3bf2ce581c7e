#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Compares two benchmark results (artifacts/bench/*.json): records/s and peak memory of each
    variant, size by size.

.EXAMPLE
    ./bench/Compare-BenchResult.ps1 artifacts/bench/20260101T120000Z-n100000.json
    # against artifacts/bench/latest.json
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory, Position = 0)] [string] $Baseline,
    [Parameter(Position = 1)] [string] $Current = (Join-Path $PSScriptRoot '../artifacts/bench/latest.json')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
$invariant = [cultureinfo]::InvariantCulture

$old = Get-Content $Baseline -Raw | ConvertFrom-Json -AsHashtable
$new = Get-Content $Current -Raw | ConvertFrom-Json -AsHashtable

function Get-Rates($Size) {
    $rates = [ordered]@{}
    foreach ($name in $Size.timings.Keys) {
        $peak = if ($Size.memory -and $Size.memory.Contains($name) -and $Size.memory[$name]) { $Size.memory[$name].peakDeltaBytes } else { $null }
        $rates[$name] = @{ Rate = $Size.timings[$name].recordsPerSecondBest; Peak = $peak }
    }
    foreach ($name in $Size.singleCore.Keys) {
        $rates["$name (1 core)"] = @{ Rate = $Size.singleCore[$name].recordsPerSecondBest; Peak = $Size.singleCore[$name].peakDeltaBytes }
    }
    $rates['ParseFloor'] = @{ Rate = $Size.parseFloor.floor.recordsPerSecondBest; Peak = $null }
    if ($Size.parseFloor.Contains('engine')) { $rates['EngineVerdict'] = @{ Rate = $Size.parseFloor.engine.recordsPerSecondBest; Peak = $null } }
    $rates
}

function Format-Value($Value, [string] $Format) {
    if ($null -eq $Value) { 'n/a' } else { ([double]$Value).ToString($Format, $invariant) }
}

"Baseline: $Baseline ($($old.environment.commit))"
"Current:  $Current ($($new.environment.commit))"
foreach ($size in $new.sizes) {
    $before = $old.sizes | Where-Object { $_.records -eq $size.records } | Select-Object -First 1
    if (-not $before) { "No baseline for $($size.records) records."; continue }
    ''
    "$($size.records) records"
    $a = Get-Rates $before
    $b = Get-Rates $size
    $rows = foreach ($name in $b.Keys) {
        if (-not $a.Contains($name)) { continue }
        [pscustomobject]@{
            Variant          = $name
            'Before rec/s'   = Format-Value $a[$name].Rate 'N0'
            'Now rec/s'      = Format-Value $b[$name].Rate 'N0'
            'Speed (now/before)' = if ($a[$name].Rate) { Format-Value ($b[$name].Rate / $a[$name].Rate) 'N2' } else { 'n/a' }
            'Before peak MB' = Format-Value $(if ($null -ne $a[$name].Peak) { $a[$name].Peak / 1MB }) 'N0'
            'Now peak MB'    = Format-Value $(if ($null -ne $b[$name].Peak) { $b[$name].Peak / 1MB }) 'N0'
        }
    }
    $rows | Format-Table -AutoSize | Out-String -Width 200
}
