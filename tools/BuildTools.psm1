# What build.ps1, the benchmark and the tests need alike to find their tools.

# The pwsh running this script, for child processes. (Installed as a dotnet tool, the process
# itself is `dotnet`, so the process path is not it.)
function Get-PwshPath {
    $name = if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }
    $beside = Join-Path $PSHOME $name
    if (Test-Path $beside) { return $beside }
    (Get-Command pwsh -CommandType Application -ErrorAction Stop | Select-Object -First 1).Source
}

# Where cargo builds the workspace at $Root.
function Get-CargoTargetDirectory([Parameter(Mandatory)] [string] $Root) {
    if ($env:CARGO_TARGET_DIR) { $env:CARGO_TARGET_DIR } else { Join-Path $Root 'target' }
}

Export-ModuleMember -Function Get-PwshPath, Get-CargoTargetDirectory
