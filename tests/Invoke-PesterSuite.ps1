<#
.SYNOPSIS
    Runs the Pester suite against a built module; called by build.ps1 in a child pwsh (a loaded
    native library cannot be unloaded, so tests never run in the building session).
#>
param(
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $FakeNativeLibrary
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force
$env:MAF_MODULE_PATH = $ModulePath
$env:MAF_FAKE_NATIVE_LIBRARY = $FakeNativeLibrary

$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Detailed'
$result = Invoke-Pester -Configuration $configuration

@{
    Passed = $result.PassedCount
    Failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
} | ConvertTo-Json | Set-Content -Path $ResultFile
