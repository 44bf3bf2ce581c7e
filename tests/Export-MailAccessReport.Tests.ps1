BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-Module (Get-ModuleUnderTest) -Force
    $script:Lines = @(Get-BreachInput 'AuditData JSON lines')
    # An attacker who writes markup and a formula into what the records keep.
    $evil = $Lines | Where-Object { $_ -match '"Id":"0c1f8a5e-6b2d-4c9e-a7f3-2d5e8b000030"' }
    $evil = $evil.Replace('"ClientInfoString":"Client=OWA;Action=ViaProxy"', '"ClientInfoString":"=cmd|calc<script>alert(1)</script>"')
    $evil = $evil.Replace('"Id":"0c1f8a5e-6b2d-4c9e-a7f3-2d5e8b000030"', '"Id":"evil-1"')
    $evil = $evil -replace '"InternetMessageId":"[^"]*"', '"InternetMessageId":"=HYPERLINK(\"http://evil.example\",\"open\")@x"'
    $script:Evil = $evil
    $script:Findings = @(($Lines + $evil) | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 -SummaryVariable tally)
    $script:Tally = $tally
}

Describe 'Export-MailAccessReport' {
    It 'writes an HTML report of the verdict, with the accounting' {
        $path = Join-Path $TestDrive 'verdict.html'
        $file = $Findings | Export-MailAccessReport -Path $path -InputSummary $Tally -Title 'Contoso breach' -PassThru
        $file.FullName | Should -Be $path
        $html = Get-Content $path -Raw
        $html | Should -Match '<h1>Contoso breach</h1>'
        $html | Should -Match 'Messages read by the attacker \(\d+\)'
        $html | Should -Match "The attacker's addresses and sessions \(5\)"
        $html | Should -Match '<th>Read</th><td>68</td>'
    }

    It 'escapes what the attacker wrote into the records, and forbids scripts' {
        $path = Join-Path $TestDrive 'escaped.html'
        $Findings | Export-MailAccessReport -Path $path
        $html = Get-Content $path -Raw
        $html | Should -Not -Match '<script>'
        $html | Should -Match '=cmd\|calc&lt;script&gt;alert\(1\)&lt;/script&gt;'
        $html | Should -Match "Content-Security-Policy"
    }

    It 'neutralises formulas in CSV' {
        $path = Join-Path $TestDrive 'findings.csv'
        $Findings | Where-Object Kind -EQ AccessedMessage | Export-MailAccessReport -Path $path
        $rows = Import-Csv $path
        $evilRow = $rows | Where-Object EvidenceRecordIds -Match 'evil-1'
        $evilRow | Should -Not -BeNullOrEmpty
        # Message ids always start with '<': the formula inside cannot run.
        $evilRow.InternetMessageId | Should -Be '<=HYPERLINK("http://evil.example","open")@x>'
        $evilRow.ClientInfoString | Should -Be "'=cmd|calc<script>alert(1)</script>"
        [IO.File]::ReadAllBytes($path)[0..2] | Should -Be @(0xEF, 0xBB, 0xBF)
        foreach ($row in $rows) {
            foreach ($property in $row.PSObject.Properties) {
                $property.Value | Should -Not -Match '^[=+\-@]' -Because "$($property.Name) must not start a formula"
            }
        }
    }

    It 'gives the same file for the same results' {
        $one = Join-Path $TestDrive 'one.html'
        $two = Join-Path $TestDrive 'two.html'
        $Findings | Export-MailAccessReport -Path $one
        ($Lines + $Evil) | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 | Export-MailAccessReport -Path $two
        (Get-FileHash $one).Hash | Should -Be (Get-FileHash $two).Hash
    }

    It 'does not overwrite without -Force, and writes nothing with -WhatIf' {
        $path = Join-Path $TestDrive 'exists.csv'
        Set-Content -Path $path -Value 'keep'
        { $Findings | Export-MailAccessReport -Path $path -ErrorAction Stop } | Should -Throw '*use -Force*'
        $Findings | Export-MailAccessReport -Path $path -Force -WhatIf
        Get-Content $path | Should -Be 'keep'
        $Findings | Export-MailAccessReport -Path $path -Force
        (Get-Content $path -TotalCount 1) | Should -Match '"Kind"'
    }

    It 'reports other results as tables' {
        $path = Join-Path $TestDrive 'contexts.html'
        $Lines | Get-MailAccessContext | Export-MailAccessReport -Path $path
        (Get-Content $path -Raw) | Should -Match 'AccessContext \(13\)'
    }
}
