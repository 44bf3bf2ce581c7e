#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Runs one benchmark variant in this (fresh) process and writes its times and peak memory.

.DESCRIPTION
    Started by Invoke-Benchmark.ps1, once per variant, so that each variant's peak memory is its
    own: setup (module import, loading the objects), a warm-up on the first 2,000 records, a full
    garbage collection, then the peak resident set is reset (Linux: /proc/self/clear_refs) and
    the variant runs -Repetitions times. Peak = VmHWM after the runs; the figure reported is
    the peak minus the resident set just before the runs (what the run added on top of its
    input). Also started under `taskset -c 0` to time file mode on one core.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $DataDirectory,
    [Parameter(Mandatory)] [ValidateSet('SeedStyle', 'OursPipeline', 'PipelineFloor', 'FileCsv', 'FileJsonLines')] [string] $Variant,
    [Parameter(Mandatory)] [string] $AttackerIPAddress,
    [Parameter(Mandatory)] [string] $ResultFile,
    # The seed-style script runs on the same subset as in the main process.
    [long] $SeedStyleLimit = 0,
    [int] $Repetitions = 1
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

Import-Module (Join-Path $PSScriptRoot 'BenchHelpers.psm1') -Force
Import-Module (Join-Path $ModulePath 'MailAccessForensics.psd1')

$manifest = Get-Content (Join-Path $DataDirectory 'manifest.json') -Raw | ConvertFrom-Json
$searchResults = Join-Path $DataDirectory $manifest.files.searchResults.name
$files = @{
    FileCsv       = Join-Path $DataDirectory $manifest.files.purviewCsv.name
    FileJsonLines = Join-Path $DataDirectory $manifest.files.auditData.name
}
$isFile = $files.ContainsKey($Variant)

$setup = [System.Diagnostics.Stopwatch]::StartNew()
$records = [long]$manifest.records
$objects = $null
$sample = $null
if ($isFile) {
    $sample = Join-Path ([System.IO.Path]::GetTempPath()) ("maf-bench-sample-$PID" + [System.IO.Path]::GetExtension($files[$Variant]))
    New-SampleFile -Path $files[$Variant] -Destination $sample
}
else {
    $objects = Import-SearchResult -Path $searchResults
    if ($Variant -eq 'SeedStyle') {
        $subset = Select-SeedStyleSubset -Objects $objects -Limit $SeedStyleLimit
        $objects = $subset.Objects
        $records = $objects.Count
    }
}
$body = switch ($Variant) {
    'SeedStyle' { { param($o) Invoke-SeedStyle -Objects $o -AttackerIPAddress $AttackerIPAddress } }
    'OursPipeline' { { param($o) Invoke-OursPipeline -Objects $o -AttackerIPAddress $AttackerIPAddress } }
    'PipelineFloor' { { param($o) Invoke-PipelineFloor -Objects $o } }
    default { { param($o) Invoke-OursFile -Path $o -AttackerIPAddress $AttackerIPAddress } }
}
$runInput = if ($isFile) { $files[$Variant] } else { $objects }

# Warm-up on a small input: JIT and first-use costs are not the run's memory.
$warm = if ($isFile) { $sample } else { $objects.GetRange(0, [math]::Min(2000, $objects.Count)) }
$null = & $body $warm
if ($sample) { Remove-Item $sample -ErrorAction SilentlyContinue }
$setupSeconds = $setup.Elapsed.TotalSeconds

[GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
$allocatedBefore = [GC]::GetTotalAllocatedBytes($true)
$baseline = Get-ProcStatusBytes VmRSS
$reset = Reset-PeakMemory
$process = [System.Diagnostics.Process]::GetCurrentProcess()
$times = [System.Collections.Generic.List[double]]::new()
for ($i = 0; $i -lt [math]::Max(1, $Repetitions); $i++) {
    $sw = [System.Diagnostics.Stopwatch]::StartNew()
    $result = & $body $runInput
    $times.Add($sw.Elapsed.TotalSeconds)
    $result = $null
}
$peak = Get-ProcStatusBytes VmHWM
$method = 'VmHWM after resetting it (/proc/self/clear_refs) just before the run'
if ($null -eq $peak) {
    # Not Linux: the process's peak working set cannot be reset; report it against the baseline.
    $process.Refresh()
    $peak = $process.PeakWorkingSet64
    $baseline = $process.WorkingSet64
    $method = 'PeakWorkingSet64 of the process (cannot be reset: includes setup)'
    $reset = $false
}
elseif (-not $reset) {
    $method = 'VmHWM of the process (the reset failed: includes setup)'
}
$allocated = [GC]::GetTotalAllocatedBytes($true) - $allocatedBefore

$out = [ordered]@{
    variant             = $Variant
    records             = $records
    repetitions         = $times.Count
    timesSeconds        = @($times)
    setupSeconds        = $setupSeconds
    processorCount      = [Environment]::ProcessorCount
    baselineRssBytes    = $baseline
    peakRssBytes        = $peak
    peakDeltaBytes      = if ($null -ne $peak -and $null -ne $baseline) { [math]::Max(0, $peak - $baseline) } else { $null }
    peakReset           = $reset
    memoryMethod        = $method
    managedAllocatedBytesPerRun = [long]($allocated / [math]::Max(1, $times.Count))
}
$out | ConvertTo-Json -Depth 4 | Set-Content -Path $ResultFile -Encoding utf8
