@{
    RootModule           = 'MailAccessForensics.psm1'
    ModuleVersion        = '0.1.0'
    GUID                 = 'bc41e021-fe73-427d-b5b6-31a55d190a15'
    Author               = 'MailAccessForensics contributors'
    CompanyName          = 'MailAccessForensics'
    Copyright            = '(c) MailAccessForensics contributors. MIT licence.'
    Description          = 'What did the attacker read? Analyses Exchange Online MailItemsAccessed audit records the way Microsoft''s forensic guidance asks (throttling, sync, sync context, bind), from Search-UnifiedAuditLog output, audit exports and other sources.'
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')
    DotNetFrameworkVersion = '4.7.2'
    FormatsToProcess     = @('MailAccessForensics.Format.ps1xml')
    CmdletsToExport      = @(
        'ConvertFrom-MailItemsAccessed'
        'Get-MailAccessThrottling'
        'Get-MailAccessSync'
        'Get-MailAccessContext'
        'Get-MailAccessBind'
        'Find-MailAccessMessage'
        'Get-CompromisedMailAccess'
        'Export-MailAccessReport'
        'Get-MailAccessKqlQuery'
    )
    FunctionsToExport    = @()
    VariablesToExport    = @()
    AliasesToExport      = @()
    PrivateData          = @{
        PSData = @{
            Tags       = @('Exchange', 'ExchangeOnline', 'Forensics', 'IncidentResponse', 'MailItemsAccessed', 'Audit', 'Purview')
            LicenseUri = 'https://opensource.org/licenses/MIT'
        }
    }
}
