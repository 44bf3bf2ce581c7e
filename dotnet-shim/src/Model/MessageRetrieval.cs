using System;

namespace MailAccessForensics
{
    /// <summary>
    /// New-MailAccessRetrievalScript: one retrieval the generated script will make for a finding,
    /// and other ways to find the same mail. Every text here is data from the audit records: the
    /// commands quote it, they never run it.
    /// </summary>
    public sealed class MessageRetrieval
    {
        /// <summary>The retrieval's id in the script (R0001, ...): -RetrievalId runs only some.</summary>
        public string Id { get; internal set; } = string.Empty;
        /// <summary>The kind of the finding it retrieves for.</summary>
        public CompromiseKind Kind { get; internal set; }
        public string Mailbox { get; internal set; } = string.Empty;
        public string? FolderPath { get; internal set; }
        public string? InternetMessageId { get; internal set; }
        /// <summary>The finding's first access (or the window's start).</summary>
        public DateTime Start { get; internal set; }
        /// <summary>The finding's last access (or the window's end).</summary>
        public DateTime End { get; internal set; }
        /// <summary>Listings: the messages received up to this time (null for a message looked up by id).</summary>
        public DateTime? ReceivedBefore { get; internal set; }
        /// <summary>Save (as .eml) or List (metadata in the manifest), when the script runs without switches.</summary>
        public string Action { get; internal set; } = string.Empty;
        /// <summary>The Microsoft Graph request that finds the mail.</summary>
        public string GraphRequest { get; internal set; } = string.Empty;
        /// <summary>The same as a Microsoft Graph PowerShell command.</summary>
        public string PowerShellCommand { get; internal set; } = string.Empty;
        /// <summary>A message trace for the message (Exchange Online PowerShell), where one fits.</summary>
        public string? MessageTraceCommand { get; internal set; }
        /// <summary>A compliance search for the same mail (Security &amp; Compliance PowerShell), where one fits.</summary>
        public string? ComplianceSearchCommand { get; internal set; }
        /// <summary>What this retrieval cannot find.</summary>
        public string Limits { get; internal set; } = string.Empty;
        /// <summary>The finding's reason.</summary>
        public string? Reason { get; internal set; }
        public string[] EvidenceRecordIds { get; internal set; } = Array.Empty<string>();
        /// <summary>The finding it came from, as it was given.</summary>
        public object? Finding { get; internal set; }
    }
}
