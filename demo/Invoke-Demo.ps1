<#
.SYNOPSIS
    The module's main job on its bundled sample investigation: what did the attacker read?
#>
param([Parameter(Mandatory)] [string] $ModulePath)
$ErrorActionPreference = 'Stop'
Import-Module $ModulePath -Force
$sample = Join-Path $ModulePath 'Samples/ContosoBreach.purview.csv'

function Show([string] $Title, [string] $Command) {
    Write-Host ''
    Write-Host "== $Title" -ForegroundColor Cyan
    Write-Host "PS> $Command" -ForegroundColor DarkGray
}

Write-Host @'
The case (synthetic, in the shape of a real Purview audit export): alice@contoso.example, a finance
manager, reports odd mail activity. Her OWA session cookie was stolen. The first thing the
investigators know is one address: 198.51.100.66. What did the attacker read?
'@

Show 'The records' '$records = Import-Csv $sample | ConvertFrom-MailItemsAccessed -SummaryVariable tally; $records | Select-Object -First 8'
# Not ... | Select-Object -First 8 in one pipeline: stopping it early would leave $tally unset.
$records = Import-Csv $sample | ConvertFrom-MailItemsAccessed -SummaryVariable tally
$records | Select-Object -First 8 | Format-Table -AutoSize | Out-String -Width 240 | Write-Host
Write-Host "Accounting: $tally"

Show 'Step 1: unaudited windows (throttling)' 'Import-Csv $sample | Get-MailAccessThrottling'
Import-Csv $sample | Get-MailAccessThrottling | Format-Table -AutoSize | Out-String -Width 240 | Write-Host

Show 'Step 2: synced folders' 'Import-Csv $sample | Get-MailAccessSync -Mailbox alice@contoso.example'
Import-Csv $sample | Get-MailAccessSync -Mailbox alice@contoso.example | Format-Table Mailbox, FolderPath, Start, End, SyncCount, ClientIPAddress -AutoSize | Out-String -Width 240 | Write-Host

Show 'Step 3: contexts, most suspicious first (before knowing the attacker)' 'Import-Csv $sample | Get-MailAccessContext -Suspicious -BaselineEndDate 2026-01-13'
Import-Csv $sample | Get-MailAccessContext -Suspicious -BaselineEndDate 2026-01-13 | Format-Table ClientIPAddress, ClientInfoString, Start, RecordCount, Score, @{ n = 'Signals'; e = { $_.Signals -join ', ' } } -AutoSize | Out-String -Width 240 | Write-Host

Show 'Step 4: who read the board minutes?' "Import-Csv `$sample | Find-MailAccessMessage -InternetMessageId '<20260109.0832.board-minutes@contoso.example>'"
Import-Csv $sample | Find-MailAccessMessage -InternetMessageId '<20260109.0832.board-minutes@contoso.example>' | Format-Table CreationTime, Mailbox, ClientIPAddress, ClientInfoString, FolderPath -AutoSize | Out-String -Width 240 | Write-Host

Show 'The verdict' 'Import-Csv $sample | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66'
$findings = Import-Csv $sample | Get-CompromisedMailAccess -AttackerIPAddress 198.51.100.66
$findings | Format-Table -AutoSize | Out-String -Width 240 | Write-Host

Show 'How the attacker was followed (each link and the record behind it)' '$findings | Where-Object Kind -eq AttackerIndicator | Format-List ...'
$findings | Where-Object Kind -EQ AttackerIndicator | ForEach-Object { Write-Host " - $($_.Reason)" }

Show 'In short' '$findings | Group-Object Kind'
foreach ($group in $findings | Group-Object Kind) { Write-Host (' {0,-18} {1}' -f $group.Name, $group.Count) }
$bytes = ($findings | Where-Object Kind -EQ AccessedMessage | Measure-Object SizeInBytes -Sum).Sum
Write-Host (" {0} messages read in the attacker's context ({1:N0} bytes known), {2} folders synced, {3} reads whose messages are unknown, {4} unaudited window(s)." -f `
    @($findings | Where-Object Kind -EQ AccessedMessage).Count, $bytes, @($findings | Where-Object Kind -EQ SyncedFolder).Count,
    @($findings | Where-Object Kind -EQ UnresolvedAccess).Count, @($findings | Where-Object Kind -EQ ThrottledWindow).Count)

$report = Join-Path ([System.IO.Path]::GetTempPath()) 'ContosoBreach.report.html'
Remove-Item -LiteralPath $report -ErrorAction SilentlyContinue
Show 'The report to hand on: summary, timeline, evidence, chain of custody' "Get-CompromisedMailAccess -Path `$sample -AttackerIPAddress 198.51.100.66 -ReportPath $report"
$findings = Get-CompromisedMailAccess -Path $sample -AttackerIPAddress 198.51.100.66 -ReportPath $report
$run = $findings[0].Run
Write-Host (" Wrote {0}: {1} findings from {2} ({3} records, SHA-256 {4})." -f $report, $run.FindingCount, (Split-Path $sample -Leaf), $run.Summary.Read, $run.Inputs[0].Sha256)
