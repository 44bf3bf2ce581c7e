<#
.SYNOPSIS
    Runs the Pester suite against a built module; called by build.ps1 in a child pwsh (a loaded
    native library cannot be unloaded, so tests never run in the building session).
#>
param(
    [Parameter(Mandatory)] [string] $PesterModule,
    [Parameter(Mandatory)] [string] $ModulePath,
    # The JUnit XML file Pester writes its results to (build.ps1 counts them from it).
    [Parameter(Mandatory)] [string] $ResultFile,
    [string] $FakeNativeLibrary
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterModule -Force
$env:MAF_MODULE_PATH = $ModulePath
$env:MAF_FAKE_NATIVE_LIBRARY = $FakeNativeLibrary

$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
# The exit code is non-zero when anything failed; build.ps1 counts the results from the file.
$configuration.Run.Exit = $true
$configuration.Output.Verbosity = 'Detailed'
$configuration.TestResult.Enabled = $true
$configuration.TestResult.OutputFormat = 'JUnitXml'
$configuration.TestResult.OutputPath = $ResultFile
Invoke-Pester -Configuration $configuration
