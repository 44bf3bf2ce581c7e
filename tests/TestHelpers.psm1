# Shared by the Pester files: where things are, and inputs shaped like the real cmdlets' output.

$script:RepoRoot = Split-Path $PSScriptRoot -Parent

function Get-ModuleUnderTest {
    if ($env:MAF_MODULE_PATH) { $env:MAF_MODULE_PATH } else { Join-Path $script:RepoRoot 'out/MailAccessForensics' }
}

function Get-SamplesDirectory {
    Join-Path (Split-Path $script:RepoRoot -Parent) 'shared/samples'
}

function Get-FixturePath([string] $Name) {
    Join-Path $PSScriptRoot "fixtures/$Name"
}

# The three AuditData strings of the real records in shared/samples (derived JSONL).
function Get-SampleAuditData {
    Get-Content (Join-Path (Get-SamplesDirectory) 'derived__raw_MailItemsAccessed_AuditData.jsonl') |
        Where-Object { $_.Trim() }
}

# An object shaped like Search-UnifiedAuditLog output (Deserialized ...UnifiedAuditLogEvent).
function New-SualObject {
    param(
        [Parameter(Mandatory)] [string] $AuditData,
        [string] $Identity = [guid]::NewGuid().ToString(),
        [string] $Operations = 'MailItemsAccessed',
        [string] $RecordType = 'ExchangeItemAggregated',
        [datetime] $CreationDate = [datetime]::new(2020, 5, 13, 10, 30, 0, [DateTimeKind]::Utc),
        [int] $ResultIndex = 1,
        [int] $ResultCount = 1
    )
    $object = [pscustomobject]@{
        RecordType   = $RecordType
        CreationDate = $CreationDate
        UserIds      = 'meganb@contoso.onmicrosoft.com'
        Operations   = $Operations
        AuditData    = $AuditData
        ResultIndex  = $ResultIndex
        ResultCount  = $ResultCount
        Identity     = $Identity
        IsValid      = $true
        ObjectState  = 'Unchanged'
    }
    $object.PSObject.TypeNames.Insert(0, 'Deserialized.Microsoft.Exchange.Management.SystemConfigurationTasks.UnifiedAuditLogEvent')
    $object
}

# A row of the Purview portal's audit export, as Import-Csv returns it.
function New-PurviewRow {
    param([Parameter(Mandatory)] [string] $AuditData, [string] $RecordId, [string] $Operation = 'MailItemsAccessed')
    [pscustomobject]@{
        RecordId                  = $RecordId
        CreationDate              = '2026-01-24T06:54:24.0000000Z '
        RecordType                = '50'
        Operation                 = $Operation
        UserId                    = 'meganb@contoso.onmicrosoft.com'
        AuditData                 = $AuditData
        AssociatedAdminUnits      = ''
        AssociatedAdminUnitsNames = ''
    }
}

# Runs a script in a fresh pwsh (for what must not load into the test session) and returns
# its output and exit code.
function Invoke-ChildPwsh {
    param([Parameter(Mandatory)] [string] $Script, [hashtable] $Environment = @{}, [string] $WorkingDirectory = $PWD)
    $name = if ($IsWindows) { 'pwsh.exe' } else { 'pwsh' }
    $pwsh = Join-Path $PSHOME $name
    $saved = @{}
    foreach ($name in $Environment.Keys) {
        $saved[$name] = [Environment]::GetEnvironmentVariable($name)
        [Environment]::SetEnvironmentVariable($name, $Environment[$name])
    }
    Push-Location $WorkingDirectory
    try {
        # Errors are written as their plain message: no colours, no wrapping at the console width.
        $wrapped = "`$ErrorActionPreference = 'Stop'; try { $Script } catch { [Console]::Out.WriteLine(`$_.Exception.Message); exit 1 }"
        $output = & $pwsh -NoProfile -NonInteractive -Command $wrapped 2>&1 | ForEach-Object { "$_" }
        [pscustomobject]@{ Output = ($output -join "`n"); ExitCode = $LASTEXITCODE }
    }
    finally {
        Pop-Location
        foreach ($name in $saved.Keys) { [Environment]::SetEnvironmentVariable($name, $saved[$name]) }
    }
}

Export-ModuleMember -Function *
