@{
    RootModule             = 'MailAccessForensics.psm1'
    ModuleVersion          = '0.1.0'
    GUID                   = 'bc41e021-fe73-427d-b5b6-31a55d190a15'
    Author                 = 'MailAccessForensics contributors'
    CompanyName            = 'MailAccessForensics'
    Copyright              = '(c) 2026 MailAccessForensics contributors. MIT License.'
    Description            = 'What did the attacker read? Answers it from Exchange Online MailItemsAccessed audit records, doing Microsoft''s four forensic steps (throttling, sync, sync context, bind) on Search-UnifiedAuditLog output, Purview and other audit exports, Graph, Sentinel and Defender records, and gives a verdict with the evidence behind every answer. Windows, macOS and Linux; PowerShell 7.4+ and Windows PowerShell 5.1.'
    PowerShellVersion      = '5.1'
    CompatiblePSEditions   = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess       = @('MailAccessForensics.Format.ps1xml')
    # One cmdlet per line, in any order: the tests compare this list with the cmdlets the
    # assembly defines.
    CmdletsToExport        = @(
        'ConvertFrom-MailItemsAccessed'
        'Get-MailAccessThrottling'
        'Get-MailAccessSync'
        'Get-MailAccessContext'
        'Get-MailAccessBind'
        'Find-MailAccessMessage'
        'Get-CompromisedMailAccess'
        'Export-MailAccessReport'
        'New-MailAccessRetrievalScript'
        'Get-MailAccessKqlQuery'
        'Save-MailAccessAuditLog'
    )
    FunctionsToExport      = @()
    VariablesToExport      = @()
    AliasesToExport        = @()
    PrivateData            = @{
        PSData = @{
            Tags         = @('Exchange', 'ExchangeOnline', 'Microsoft365', 'Forensics', 'DFIR', 'IncidentResponse', 'MailItemsAccessed', 'Audit', 'UnifiedAuditLog', 'Purview', 'Security',
                'Windows', 'Linux', 'MacOS')
            # The project's address: build.ps1 Package -ProjectUri (as CI runs it) refuses a
            # package whose ProjectUri is not the repository it is built from.
            ProjectUri   = 'https://github.com/MailAccessForensics/MailAccessForensics'
            LicenseUri   = 'https://github.com/MailAccessForensics/MailAccessForensics/blob/main/LICENSE'
            ReleaseNotes = 'What changed in each version: CHANGELOG.md in the module folder, or https://github.com/MailAccessForensics/MailAccessForensics/blob/main/CHANGELOG.md'
        }
    }
}
