<#
.SYNOPSIS
    Publishes a module folder to a local PSResource repository (a folder), then installs it from
    there by name into another folder: what the PowerShell Gallery would hand a user.

.DESCRIPTION
    Registers a repository under a unique name, Publish-PSResource (which validates the
    manifest and writes <Name>.<Version>.nupkg into -RepositoryPath), Save-PSResource -Name into
    -InstallPath, and unregisters the repository whatever happens. Writes the .nupkg's path.
    Repository registrations live in the user's PSResourceGet store; to leave it alone, run
    this in a child pwsh with XDG_DATA_HOME pointing elsewhere (Linux), as build.ps1 and the
    tests do.
#>
param(
    [Parameter(Mandatory)] [string] $ModulePath,
    [Parameter(Mandatory)] [string] $RepositoryPath,
    [Parameter(Mandatory)] [string] $InstallPath
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$manifest = Import-PowerShellDataFile (Join-Path $ModulePath 'MailAccessForensics.psd1')
foreach ($path in $RepositoryPath, $InstallPath) { New-Item -ItemType Directory -Path $path -Force | Out-Null }
$repository = "MailAccessForensics-local-$PID-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
Register-PSResourceRepository -Name $repository -Uri (Resolve-Path $RepositoryPath).ProviderPath -Trusted
try {
    Publish-PSResource -Path $ModulePath -Repository $repository
    Save-PSResource -Name MailAccessForensics -Version $manifest.ModuleVersion -Repository $repository -Path $InstallPath -TrustRepository
}
finally {
    Unregister-PSResourceRepository -Name $repository
}
$package = Join-Path $RepositoryPath "MailAccessForensics.$($manifest.ModuleVersion).nupkg"
if (-not (Test-Path $package)) { throw "Publish-PSResource wrote no $package" }
(Resolve-Path $package).ProviderPath
