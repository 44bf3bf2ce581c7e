# Loads the cmdlet assembly built for this edition of PowerShell and exports its cmdlets as
# this module's own. The assembly's initialiser loads the native engine from runtimes/ and
# checks its version, so a broken installation fails here, at import.
$ErrorActionPreference = 'Stop'

if ($PSVersionTable.PSEdition -eq 'Core') {
    if ($PSVersionTable.PSVersion -lt [version]'7.4') {
        throw "MailAccessForensics needs PowerShell 7.4 or later (or Windows PowerShell 5.1); this is $($PSVersionTable.PSVersion)."
    }
    $framework = 'net8.0'
}
else {
    $framework = 'net472'
}

$assemblyPath = [System.IO.Path]::Combine($PSScriptRoot, 'bin', $framework, 'MailAccessForensics.dll')
$binaryModule = Import-Module -Name $assemblyPath -PassThru
# (A KeyCollection does not convert to [string[]] element by element: copy it to an array.)
Export-ModuleMember -Cmdlet @($binaryModule.ExportedCmdlets.Keys)
