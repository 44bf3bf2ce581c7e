@{
    Synopsis    = 'Writes findings and other results to an HTML report or a CSV file that is safe to open.'
    Description = @(
        'Export-MailAccessReport writes the results of the module''s cmdlets (above all the findings of Get-CompromisedMailAccess) to a file for people: an HTML report with the verdict by kind, the reasons and the evidence record ids, or a CSV table.'
        'Every string in an audit record is attacker-controlled: a client string, a folder name, a message id. The HTML report escapes every value and forbids scripts (Content-Security-Policy). In CSV, a cell a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage return) is prefixed with an apostrophe, which Export-Csv does not do.'
        'The report holds no time of its own: the same results give the same file.'
    )
    Parameters  = @{
        InputObject  = 'The results to report: CompromiseFinding objects, and any other result of the module (MessageRead, AccessContext, SyncActivity, UnauditedWindow, MessageAccess, MailAccessRecord).'
        Path         = 'The file to write. Its extension (.html or .csv) chooses the format unless -Format is given.'
        Format       = 'Html or Csv. By default, Csv for a .csv file and Html otherwise.'
        Title        = 'The title of the HTML report.'
        InputSummary = 'The accounting of the run that produced the results (the object -SummaryVariable receives), shown at the top of the HTML report.'
        Force        = 'Overwrite the file if it exists.'
        PassThru     = 'Write the FileInfo of the report.'
        WhatIf       = 'Show what would be written, and write nothing.'
        Confirm      = 'Ask before writing the file.'
    }
    Outputs     = 'With -PassThru, the System.IO.FileInfo of the report.'
    Examples    = @(
        @{
            Code    = 'Import-Csv .\AuditLog.csv | Get-CompromisedMailAccess -AttackerIPAddress 203.0.113.77 -SummaryVariable tally | Export-MailAccessReport -Path .\verdict.html -InputSummary $tally'
            Remarks = 'The verdict as an HTML report, with the accounting of the records read.'
        }
        @{
            Code    = '$findings | Where-Object Kind -eq AccessedMessage | Export-MailAccessReport -Path .\read-messages.csv'
            Remarks = 'The messages the attacker read, as a CSV safe to open in a spreadsheet.'
        }
    )
    Links       = @('Get-CompromisedMailAccess')
}
