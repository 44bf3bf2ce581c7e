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

    # The bundled sample, read by the engine from its file: the report's golden files.
    $script:Sample = Join-Path (Get-ModuleUnderTest) 'Samples/ContosoBreach.purview.csv'
    $script:SampleFindings = @(Get-CompromisedMailAccess -Path $Sample -AttackerIPAddress 198.51.100.66 -SummaryVariable sampleTally)
    $script:SampleTally = $sampleTally
    $script:SampleHtml = Join-Path $TestDrive 'sample.html'
    $script:SampleJson = Join-Path $TestDrive 'sample.json'
    $SampleFindings | Export-MailAccessReport -Path $SampleHtml -Title 'Contoso breach (sample)'
    $SampleFindings | Export-MailAccessReport -Path $SampleJson

    # What differs from one run to the next (times, identifiers, computer, paths, versions) is
    # replaced by a placeholder; everything else must equal the golden file byte for byte.
    function script:ConvertTo-Golden([string] $Text, [string] $Format) {
        $samples = Split-Path (Resolve-Path $Sample).ProviderPath -Parent
        if ($Format -eq 'Html') {
            $Text = $Text.Replace([System.Net.WebUtility]::HtmlEncode($samples), '{SAMPLES}')
            $Text = $Text -replace 'Made by MailAccessForensics [^ ]+ on [^.]+\.', 'Made by MailAccessForensics {VERSION} on {END}.'
            foreach ($label in 'Run', 'Started', 'Ended', 'Account', 'Computer', 'Operating system', 'PowerShell', 'Module', 'Engine') {
                $Text = $Text -replace "<th>$label</th><td>[^<]*</td>", "<th>$label</th><td>{VOLATILE}</td>"
            }
        }
        else {
            $Text = $Text.Replace(($samples | ConvertTo-Json).Trim('"'), '{SAMPLES}')
            # Only the run has these keys.
            $Text = $Text -replace '"(Id|StartTime|EndTime|Duration|Host|User|OperatingSystem|PowerShellVersion|ModuleVersion|EngineVersion)": "[^"]*"', '"$1": "{VOLATILE}"'

        }
        $Text.Replace("`r`n", "`n")
    }

    function script:Assert-Golden([string] $Path, [string] $Format, [string] $Golden) {
        $actual = ConvertTo-Golden (Get-Content -LiteralPath $Path -Raw) $Format
        $goldenPath = Join-Path $PSScriptRoot "fixtures/report/$Golden"
        if ($env:MAF_UPDATE_GOLDEN) {
            # MAF_UPDATE_GOLDEN=1 ./build.ps1 Test rewrites the golden files; review the diff.
            [System.IO.File]::WriteAllText($goldenPath, $actual)
        }
        $expected = [System.IO.File]::ReadAllText($goldenPath).Replace("`r`n", "`n")
        if ($actual -ne $expected) {
            $a = $actual -split "`n"; $e = $expected -split "`n"
            $line = 0
            while ($line -lt [Math]::Min($a.Count, $e.Count) -and $a[$line] -eq $e[$line]) { $line++ }
            $got = if ($line -lt $a.Count) { $a[$line] } else { '(end)' }
            $want = if ($line -lt $e.Count) { $e[$line] } else { '(end)' }
            throw "$Golden differs at line $($line + 1):`n  got:  $got`n  want: $want"
        }
    }
}

Describe 'Export-MailAccessReport' {
    It 'writes an HTML report of the verdict with its run''s accounting, no -InputSummary needed' {
        $path = Join-Path $TestDrive 'verdict.html'
        $file = $Findings | Export-MailAccessReport -Path $path -Title 'Contoso breach' -PassThru
        $file.FullName | Should -Be $path
        $html = Get-Content $path -Raw
        $html | Should -Match '<h1>Contoso breach</h1>'
        $html | Should -Match 'Messages read by the attacker \(\d+\)'
        $html | Should -Match "The attacker's indicators \(5\)"
        $html | Should -Match '<th>Read</th><td>68</td>'
        $html | Should -Match 'Pipeline: 68 object\(s\)'
    }

    It 'still takes -InputSummary' {
        $path = Join-Path $TestDrive 'contexts-with-tally.html'
        $contexts = $Lines | Get-MailAccessContext -SummaryVariable contextTally
        $contexts | Export-MailAccessReport -Path $path -InputSummary $contextTally
        $html = Get-Content $path -Raw
        $html | Should -Match "<th>Read</th><td>$($contextTally.Read)</td>"
        $html | Should -Match 'AccessContext \(13\)'
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
        # Neither the run nor the evidence records are columns.
        $rows[0].PSObject.Properties.Name | Should -Not -Contain 'Run'
        $rows[0].PSObject.Properties.Name | Should -Not -Contain 'Evidence'
    }

    It 'neutralises header cells of CSV too' {
        $path = Join-Path $TestDrive 'custom.csv'
        [pscustomobject]@{ '=cmd|calc!A0' = 'x' } | Export-MailAccessReport -Path $path
        (Get-Content $path -TotalCount 1).TrimStart([char]0xFEFF) | Should -Be '"''=cmd|calc!A0"'
    }

    It 'gives the same file for the same results' {
        $one = Join-Path $TestDrive 'one.html'
        $two = Join-Path $TestDrive 'two.html'
        $Findings | Export-MailAccessReport -Path $one
        $Findings | Export-MailAccessReport -Path $two
        (Get-FileHash $one).Hash | Should -Be (Get-FileHash $two).Hash
    }

    It 'does not overwrite without -Force, and writes nothing with -WhatIf, even on an existing file' {
        $path = Join-Path $TestDrive 'exists.csv'
        Set-Content -Path $path -Value 'keep'
        { $Findings | Export-MailAccessReport -Path $path -ErrorAction Stop } | Should -Throw '*use -Force*'
        $Findings | Export-MailAccessReport -Path $path -WhatIf
        $Findings | Export-MailAccessReport -Path $path -Force -WhatIf
        Get-Content $path | Should -Be 'keep'
        $Findings | Export-MailAccessReport -Path $path -Force
        (Get-Content $path -TotalCount 1) | Should -Match '"Kind"'
    }

    It 'writes a file whose name has wildcard characters with -LiteralPath' {
        $path = Join-Path $TestDrive 'case[1].html'
        $Findings | Export-MailAccessReport -LiteralPath $path
        Test-Path -LiteralPath $path | Should -BeTrue
        { $Findings | Export-MailAccessReport -Path (Join-Path $TestDrive 'new[2].html') -ErrorAction Stop } | Should -Throw '*-LiteralPath*'
    }

    It 'refuses an extension it does not write, instead of writing HTML' {
        $path = Join-Path $TestDrive 'verdict.txt'
        { $Findings | Export-MailAccessReport -Path $path -ErrorAction Stop } | Should -Throw '*.html, .csv, .json or .jsonl*'
        Test-Path $path | Should -BeFalse
        $Findings | Export-MailAccessReport -Path $path -Format Html
        (Get-Content $path -Raw) | Should -Match '<!DOCTYPE html>'
    }

    It 'refuses findings of several runs: a report holds one chain of custody' {
        $other = @($Lines | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66)
        { @($Findings[0]) + @($other[0]) | Export-MailAccessReport -Path (Join-Path $TestDrive 'two-runs.html') -ErrorAction Stop } |
            Should -Throw '*2 runs*'
    }

    It 'reports other results as tables' {
        $path = Join-Path $TestDrive 'contexts.html'
        $Lines | Get-MailAccessContext | Export-MailAccessReport -Path $path
        (Get-Content $path -Raw) | Should -Match 'AccessContext \(13\)'
    }

    It 'says "No findings" plainly when given none' {
        $path = Join-Path $TestDrive 'nothing.html'
        @() | Export-MailAccessReport -Path $path
        (Get-Content $path -Raw) | Should -Match 'No findings\.'
    }
}

Describe 'Export-MailAccessReport JSON' {
    BeforeAll {
        $script:Document = Get-Content $SampleJson -Raw | ConvertFrom-Json -DateKind String
    }

    It 'writes one document with the run and the findings, each with its evidence' {
        $Document.run.Command | Should -Be 'Get-CompromisedMailAccess'
        $Document.run.Id | Should -Be $SampleFindings[0].Run.Id
        @($Document.findings).Count | Should -Be $SampleFindings.Count
        $Document.findings[0].PSObject.Properties.Name | Should -Not -Contain 'Run'
        $message = $Document.findings | Where-Object InternetMessageId -EQ '<20260109.0832.board-minutes@contoso.example>'
        @($message.Evidence).Count | Should -Be 2
        $message.Evidence[0].SourceLine | Should -Be 31
        $message.Evidence[0].Time | Should -Be '2026-01-13T19:05:03.0000000Z'
    }

    It 'has the file''s SHA-256 as Get-FileHash gives it, and the accounting of the run' {
        $Document.run.Inputs[0].Sha256 | Should -Be (Get-FileHash -LiteralPath $Sample -Algorithm SHA256).Hash
        $Document.run.Inputs[0].HashComplete | Should -BeTrue
        $Document.run.Inputs[0].Size | Should -Be (Get-Item -LiteralPath $Sample).Length
        foreach ($name in 'Read', 'Analysed', 'Skipped', 'Duplicates', 'Filtered', 'Errors', 'Degraded', 'Throttled', 'NotThrottled', 'ThrottlingUnknown') {
            $Document.run.Summary.$name | Should -Be $SampleTally.$name -Because $name
        }
    }

    It 'writes JSON Lines: the run, then one finding a line with the run''s id' {
        $path = Join-Path $TestDrive 'sample.jsonl'
        $SampleFindings | Export-MailAccessReport -Path $path
        $lines = @(Get-Content $path | ForEach-Object { $_ | ConvertFrom-Json })
        $lines.Count | Should -Be ($SampleFindings.Count + 1)
        $lines[0].Type | Should -Be 'MailAccessForensics.MailAccessRun'
        $lines[1].Type | Should -Be 'MailAccessForensics.CompromiseFinding'
        $lines[1].RunId | Should -Be $lines[0].Id
    }

    It 'matches the golden file of the bundled sample' {
        Assert-Golden $SampleJson 'Json' 'ContosoBreach.json'
    }
}

Describe 'Export-MailAccessReport HTML of the bundled sample' {
    It 'matches the golden file' {
        Assert-Golden $SampleHtml 'Html' 'ContosoBreach.html'
    }

    It 'holds the file''s SHA-256 as Get-FileHash gives it, and the run''s accounting' {
        $html = Get-Content $SampleHtml -Raw
        $hash = (Get-FileHash -LiteralPath $Sample -Algorithm SHA256).Hash
        $html | Should -Match "<code[^>]*>$hash</code>"
        $html | Should -Match ("Read {0} = analysed {1} \+ skipped {2} \+ duplicates {3} \+ outside the filters {4} \+ errors {5}: the counts add up" -f
            $SampleTally.Read, $SampleTally.Analysed, $SampleTally.Skipped, $SampleTally.Duplicates, $SampleTally.Filtered, $SampleTally.Errors)
    }

    It 'loads in a browser with no script, with the summary, the timeline and the evidence' {
        $dom = Invoke-Chromium $SampleHtml -Arguments '--dump-dom'
        $dom | Should -Match '<section id="summary">'
        $dom | Should -Match '<svg[^>]*class="timeline"'
        $dom | Should -Match '<rect[^>]*fill-opacity'
        $dom | Should -Match '<section id="evidence">'
        $dom | Should -Match '<section id="custody">'
        $dom | Should -Match '<td class="w">alice@contoso\.example</td><td class="n">8</td>'
        $dom | Should -Not -Match '<script'
    }

    It 'renders to a screenshot' {
        $png = Join-Path $TestDrive 'sample.png'
        $null = Invoke-Chromium $SampleHtml -Arguments "--screenshot=$png"
        $bytes = [IO.File]::ReadAllBytes($png)
        $bytes.Length | Should -BeGreaterThan 20000
        $bytes[0..3] | Should -Be @(0x89, 0x50, 0x4E, 0x47)
    }

    It 'keeps every table within the width of an A4 landscape page, whatever the records hold' {
        # The sample, and records where the attacker put very long unbroken values in every field
        # a report shows (message id, folder, client, mailbox, session, application).
        $long = 'x' * 180
        $stress = foreach ($line in $Lines) {
            if ($line -notmatch '198\.51\.100\.66') { $line; continue }
            $line -replace '"InternetMessageId":"<?([^"@]*)@', ('"InternetMessageId":"<$1' + $long + '@') `
                -replace '"ClientInfoString":"[^"]*"', ('"ClientInfoString":"Client=' + $long + '"') `
                -replace '"Path":"\\\\Inbox"', ('"Path":"\\Inbox\\' + $long + '"') `
                -replace '"AppId":"[^"]*"', ('"AppId":"' + $long + '"')
        }
        $stressHtml = Join-Path $TestDrive 'stress.html'
        $stress | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66 | Export-MailAccessReport -Path $stressHtml
        (Get-Content $stressHtml -Raw) | Should -Match $long
        foreach ($report in $SampleHtml, $stressHtml) {
            # A copy that measures itself (the report itself runs nothing): at the width of A4
            # landscape less its margins (277 mm, 1047 px), no table or drawing reaches past the edge.
            $measure = Join-Path $TestDrive 'measure.html'
            $script = '<script>const v = window.innerWidth; const wide = []; for (const t of document.querySelectorAll("table, svg")) { const r = t.getBoundingClientRect(); if (r.right > v + 0.5) wide.push((t.closest("section") || {}).id + ":" + Math.round(r.right)); } document.body.setAttribute("data-fit", JSON.stringify({ page: document.documentElement.scrollWidth, width: v, wide: wide }));</script>'
            $html = (Get-Content $report -Raw) -replace '<meta http-equiv="Content-Security-Policy"[^>]*>', ''
            Set-Content -LiteralPath $measure -Value $html.Replace('</body>', "$script</body>") -NoNewline
            $dom = Invoke-Chromium $measure -Arguments '--dump-dom' -Width 1047 -Height 900
            $dom -match 'data-fit="([^"]*)"' | Should -BeTrue
            $fit = [System.Net.WebUtility]::HtmlDecode($Matches[1]) | ConvertFrom-Json
            $fit.width | Should -Be 1047
            $fit.wide | Should -BeNullOrEmpty -Because "every table of $(Split-Path $report -Leaf) fits"
            $fit.page | Should -BeLessOrEqual $fit.width
        }
    }

    It 'prints on A4 landscape pages' {
        $pdf = Join-Path $TestDrive 'sample.pdf'
        $null = Invoke-Chromium $SampleHtml -Arguments '--no-pdf-header-footer', "--print-to-pdf=$pdf"
        $text = [System.Text.Encoding]::Latin1.GetString([IO.File]::ReadAllBytes($pdf))
        $text.StartsWith('%PDF') | Should -BeTrue
        $boxes = [regex]::Matches($text, '/MediaBox \[0 0 ([\d.]+) ([\d.]+)\]')
        # How many pages the sample takes is Chromium's pagination; each must be A4 landscape.
        $boxes.Count | Should -BeGreaterThan 0
        foreach ($box in $boxes) {
            [double]$box.Groups[1].Value | Should -BeGreaterThan 840 -Because 'A4 landscape is 842 points wide'
            [double]$box.Groups[2].Value | Should -BeLessThan 596 -Because 'and 595 points high'
        }
    }
}
