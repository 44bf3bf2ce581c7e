BeforeDiscovery {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    $script:Shapes = Get-BreachShapes
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Expected = Get-BreachExpected
    $script:AccessProperties = 'InternetMessageId', 'Mailbox', 'CreationTime', 'FolderPath', 'SizeInBytes', 'ClientIPAddress',
        'ClientInfoString', 'SessionId', 'UserId', 'AppId', 'ClientAppId', 'RecordId'
}

Describe 'Find-MailAccessMessage on the breach scenario (<Shape>)' -ForEach $Shapes {
    It 'finds every access to the given messages, ids with or without angle brackets' {
        $ids = $Expected.FindMailAccessMessage.Parameters.InternetMessageId
        $ids[1] | Should -Not -Match '^<' -Because 'one id is given without brackets'
        $accesses = @(Get-BreachInput $Shape | Find-MailAccessMessage -InternetMessageId $ids)
        $actual = ConvertTo-ComparableRows $accesses $AccessProperties
        $wanted = ConvertTo-ComparableRows $Expected.FindMailAccessMessage.Rows $AccessProperties
        ($actual | Sort-Object) | Should -Be ($wanted | Sort-Object)
        $keys = $accesses | ForEach-Object { '{0}|{1:yyyy-MM-ddTHH:mm:ss}|{2}' -f $_.Mailbox, $_.CreationTime, $_.RecordId }
        $keys | Should -Be ($keys | Sort-Object -CaseSensitive)
    }
}

Describe 'Find-MailAccessMessage with files' {
    It 'takes the ids from the pipeline when the records come from -Path' {
        $ids = $Expected.FindMailAccessMessage.Parameters.InternetMessageId
        $list = $ids | ForEach-Object { [pscustomobject]@{ InternetMessageId = $_; Note = 'sensitive' } }
        $fromObjects = @($list | Find-MailAccessMessage -Path (Join-Path (Get-BreachDirectory) 'breach.purview.csv'))
        $fromStrings = @($ids | Find-MailAccessMessage -LiteralPath (Join-Path (Get-BreachDirectory) 'breach.auditdata.jsonl'))
        $wanted = ConvertTo-ComparableRows $Expected.FindMailAccessMessage.Rows $AccessProperties | Sort-Object
        (ConvertTo-ComparableRows $fromObjects $AccessProperties | Sort-Object) | Should -Be $wanted
        (ConvertTo-ComparableRows $fromStrings $AccessProperties | Sort-Object) | Should -Be $wanted
    }
}
