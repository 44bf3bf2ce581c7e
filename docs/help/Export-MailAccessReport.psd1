@{
    Synopsis    = 'Writes findings and other results to a report: HTML for people, JSON for other tools, or a CSV file that is safe to open.'
    Description = @(
        'Export-MailAccessReport writes the results of the module''s cmdlets, above all the findings of Get-CompromisedMailAccess, to a file.'
        'HTML (.html) is one self-contained page to hand on: first what may be wrong (input possibly truncated, warnings), then a summary per mailbox (messages read, bytes known, folders synced, reads whose messages are unknown, unaudited windows, first and last attacker access) and the attacker''s indicators, a timeline (attacker activity per mailbox, unaudited windows as bands), the findings by kind, an evidence appendix (every record behind a finding: time, mailbox, acting account, access type, context, folders, messages, record id, source file and line) and the chain of custody (the run: parameters and indicators, period, every input with its size and SHA-256, the accounting, warnings, versions, computer, account, start and end). It prints on A4 landscape with every column on the page.'
        'JSON (.json) is one document {"run": ..., "findings": [...]}; JSON Lines (.jsonl) has one object a line: the run, then each finding with the run''s id. CSV (.csv) is one table of the results, without the run.'
        'Findings bring their run with them: the chain of custody needs no other parameter. A report holds one run: findings of several runs are refused. With no findings, the report says "No findings", with the inputs and the accounting of the run.'
        'Every string in an audit record is attacker-controlled: a client string, a folder name, a message id. The HTML report escapes every value and forbids scripts (Content-Security-Policy). In CSV, a cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) is prefixed with an apostrophe, header cells included, which Export-Csv does not do.'
        'The same results give the same file, apart from the run''s own times, identifiers and computer.'
    )
    Parameters  = @{
        InputObject  = 'The results to report: CompromiseFinding objects, and any other result of the module (MessageRead, AccessContext, SyncActivity, UnauditedWindow, MessageAccess, MailAccessRecord).'
        Path         = 'The file to write. Its extension (.html, .htm, .csv, .json, .jsonl) chooses the format unless -Format is given; another extension is an error. A path with wildcard characters must match exactly one existing file (use -LiteralPath for a new file whose name has them).'
        LiteralPath  = 'The file to write, taken exactly as written: wildcard characters ([, ], *, ?) are part of the name.'
        Format       = 'Html, Csv, Json or JsonLines. By default from the file''s extension.'
        Title        = 'The title of the HTML report.'
        InputSummary = 'An accounting to show (the object -SummaryVariable receives), for results that do not carry their run. Findings of Get-CompromisedMailAccess carry the accounting of their run already.'
        Force        = 'Overwrite the file if it exists.'
        PassThru     = 'Write the FileInfo of the report.'
        WhatIf       = 'Show what would be written (and whether an existing file would be overwritten), and write nothing.'
        Confirm      = 'Ask before writing the file.'
    }
    Outputs     = 'With -PassThru, the System.IO.FileInfo of the report.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77 | Export-MailAccessReport -Path .\verdict.html'
            Remarks = 'The verdict as an HTML report, with its chain of custody and the accounting of the records read.'
        }
        @{
            Code    = '$findings = Get-CompromisedMailAccess -Path .\exports\*.csv -AttackerIPAddress 203.0.113.77; $findings | Export-MailAccessReport -Path .\verdict.json'
            Remarks = 'The same verdict as JSON for a SIEM: {"run": ..., "findings": [...]}, each finding with its evidence records.'
        }
        @{
            Code    = '$findings | Where-Object Kind -eq AccessedMessage | Export-MailAccessReport -Path .\read-messages.csv'
            Remarks = 'The messages the attacker read, as a CSV safe to open in a spreadsheet.'
        }
        @{
            Code    = '$contexts = Import-Csv .\AuditLog.csv | Get-MailAccessContext -Suspicious -BaselineEndDate 2024-05-01 -SummaryVariable tally; $contexts | Export-MailAccessReport -Path .\contexts.html -InputSummary $tally'
            Remarks = 'Other results with the accounting of their run: the variable is read in a second statement, once the first has filled it.'
        }
    )
    Links       = @('Get-CompromisedMailAccess')
}
